// The account page: sign up, log in, who is logged in, where, and ending any of it. It uses
// nothing but the public API with the cookie, and its session's WebSocket to fall back to
// the log-in form the moment that session ends elsewhere.

import { ApiError, api } from "./api.js";
import { watchSession } from "./events.js";
import { forgetFactors, installFactors, secondStep, showFactors } from "./factors.js";
import { bindButton, bindForm, clearErrors, describe } from "./forms.js";

const $ = (id) => document.getElementById(id);

const ENDINGS = {
  "logged-out": "This session was logged out elsewhere (in another tab?). Log in again.",
  revoked: "This session was logged out from another device. Log in again.",
  "password-changed": "Your password was changed, which logged this session out. Log in with the new one.",
  replaced: "You logged in again, which ended this session.",
  "password-reset": "Your password was reset, which logged this session out. Log in with the new one.",
  "account-deleted": "Your account was deleted.",
  expired: "Your session expired. Log in again.",
  ended: "Your session has ended. Log in again.",
};

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

let watcher = null;
let rotating = Promise.resolve(); // a password change in flight: it ends this socket's session
let refreshing = null;
let refreshAgain = false;

function announce(text) {
  $("status").textContent = text;
}

function show(section) {
  $("loading").hidden = true;
  $("main").removeAttribute("aria-busy");
  $("signed-in").hidden = section !== "signed-in";
  $("signed-out").hidden = section !== "signed-out";
  $("reset-password").hidden = section !== "reset-password";
}

function signedOut(notice = "", focus = false) {
  watcher?.stop();
  watcher = null;
  announce(""); // news of the session that ended ("Logged in as ...") is stale now
  for (const form of document.forms) {
    clearErrors(form);
    for (const input of form.querySelectorAll("input[type=password]")) input.value = "";
  }
  $("notice").textContent = notice;
  $("notice").hidden = !notice;
  $("sessions").tBodies[0].replaceChildren();
  forgetFactors(); // factors.js
  show("signed-out");
  if (focus) $("signed-out-title").focus();
}

async function signedIn(user, focus = false) {
  $("user-name").textContent = user.name;
  $("user-email").textContent = user.email;
  $("change-password-username").value = user.email; // for password managers
  $("verified").hidden = !user.emailVerified;
  $("unverified").hidden = user.emailVerified;
  show("signed-in");
  if (focus) $("signed-in-title").focus();
  watch();
  showFactors(); // factors.js: not awaited, the sessions need not wait for it
  await refreshSessions();
}

function watch() {
  watcher?.stop();
  watcher = watchSession({ onEnded: sessionEnded, onChanged: refreshSessions, alive });
}

// true, false (the session has ended) or null (the service cannot say just now)
async function alive() {
  try {
    await api.me();
    return true;
  } catch (error) {
    return error.status === 401 ? false : null;
  }
}

async function sessionEnded(reason) {
  await rotating;
  if ((await alive()) === true) {
    watch(); // a password change made here rotated this page's session: watch the new one
    await refreshSessions();
    return;
  }
  signedOut(ENDINGS[reason] ?? ENDINGS.ended, true);
}

function ago(moment) {
  const seconds = Math.round((Date.now() - moment.getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return relative.format(-Math.floor(seconds / 60), "minute");
  if (seconds < 86400) return relative.format(-Math.floor(seconds / 3600), "hour");
  return dateTime.format(moment);
}

function setTime(element, iso, relatively) {
  const moment = new Date(iso);
  element.dateTime = iso;
  element.title = dateTime.format(moment);
  element.textContent = relatively ? ago(moment) : dateTime.format(moment);
}

function render(sessions) {
  const focused = document.activeElement?.closest?.("#sessions tr")?.dataset.session;
  const rows = sessions.map((session) => {
    const row = $("session-row").content.firstElementChild.cloneNode(true);
    row.dataset.session = session.id;
    const name = row.querySelector(".device-name");
    name.textContent = session.device;
    name.title = session.userAgent;
    if (!session.current) row.querySelector(".badge").remove();
    row.querySelector(".address").textContent = session.ipAddress || "unknown";
    setTime(row.querySelector(".created"), session.createdAt, false);
    setTime(row.querySelector(".last-seen"), session.lastSeenAt, true);
    const button = row.querySelector(".revoke");
    if (session.current) {
      button.remove(); // this device logs out with the button at the top
    } else {
      const when = dateTime.format(new Date(session.createdAt));
      button.setAttribute("aria-label", `Revoke ${session.device}, logged in ${when}`);
      button.addEventListener("click", () => revoke(session, row));
    }
    return row;
  });
  $("sessions").tBodies[0].replaceChildren(...rows);
  $("revoke-others").hidden = sessions.length < 2;
  if (focused) {
    const again = rows.find((row) => row.dataset.session === focused)?.querySelector("button");
    (again ?? $("sessions-title")).focus();
  }
}

async function refreshSessions() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        render(await api.sessions());
        $("sessions-error").hidden = true;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (error.status === 401) {
          sessionEnded("ended"); // not awaited: it may refresh the list itself
          return;
        }
        $("sessions-error").textContent = describe(error);
        $("sessions-error").hidden = false;
      }
    } while (refreshAgain);
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

async function revoke(session, row) {
  const button = row.querySelector(".revoke");
  const message = row.querySelector(".row-error");
  button.disabled = true;
  message.textContent = "";
  try {
    await api.revoke(session.id);
    announce(`Revoked ${session.device}: it is logged out.`);
    $("sessions-title").focus();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) return sessionEnded("ended");
    if (error.kind !== "not-found") {
      message.textContent = describe(error);
      button.disabled = false;
      return;
    }
    announce(describe(error));
    $("sessions-title").focus();
  }
  await refreshSessions();
}

bindButton($("revoke-others"), $("sessions-error"), async () => {
  try {
    await api.revokeOthers();
  } catch (error) {
    if (error.status !== 401) throw error;
    sessionEnded("ended"); // not awaited: it may refresh the list itself
    return;
  }
  announce("Every other session was logged out.");
  await refreshSessions();
});

bindButton($("log-out"), $("log-out-error"), async () => {
  watcher?.stop(); // this page ends its own session: no need to be told
  watcher = null;
  try {
    await api.logOut();
  } catch (error) {
    watch();
    throw error;
  }
  signedOut("", true);
  announce("You are logged out.");
});

bindForm($("log-in"), async ({ email, password, remember }) => {
  const user = await api.logIn(email, password, remember === "on");
  $("log-in").reset();
  if (user.secondFactorRequired) return secondStep(user); // factors.js
  announce(`Logged in as ${user.name}.`);
  await signedIn(user, true);
});

bindForm($("sign-up"), async ({ email, name, password }) => {
  const user = await api.register(email, name, password);
  $("sign-up").reset();
  announce(`Welcome, ${user.name}: your account is ready.`);
  await signedIn(user, true);
});

bindForm($("change-password"), async ({ currentPassword, newPassword }) => {
  const changing = api.changePassword(currentPassword, newPassword);
  rotating = changing.catch(() => undefined);
  await changing;
  $("current-password").value = "";
  $("new-password").value = "";
  announce("Your password was changed. Every other session was logged out.");
  await refreshSessions();
});

bindForm($("forgot-password"), async ({ email }) => {
  await api.askPasswordReset(email);
  $("forgot-password").reset();
  announce("If an account has this address, a link to choose a new password is on its way.");
});

bindForm($("change-email"), async ({ currentPassword, newEmail }) => {
  await api.askEmailChange(currentPassword, newEmail);
  $("change-email").reset();
  announce(`A link is on its way to ${newEmail}: your email changes once it is followed.`);
});

bindForm($("delete-account"), async ({ currentPassword }) => {
  watcher?.stop(); // this page ends its own sessions: no need to be told
  watcher = null;
  try {
    await api.deleteAccount(currentPassword);
  } catch (error) {
    watch();
    throw error;
  }
  signedOut(ENDINGS["account-deleted"], true);
});

bindButton($("resend-verification"), $("resend-verification-error"), async () => {
  await api.resendVerification();
  announce("A new link is on its way.");
});

document.addEventListener("submit", () => announce(""), { capture: true }); // news is stale now

// An emailed link: /account/#<action>=<token>. The token leaves the address bar at once.
function emailedLink() {
  const [action, token] = location.hash.slice(1).split("=", 2);
  if (!token) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return { action, token };
}

async function follow({ action, token }) {
  if (action === "password-reset") {
    bindForm($("reset-password"), async ({ newPassword }) => {
      const user = await api.resetPassword(token, newPassword);
      $("reset-password").reset();
      if (user.secondFactorRequired) return secondStep(user); // a reset never skips it
      announce("Your password was changed, and every other session logged out.");
      await signedIn(user, true);
    });
    show("reset-password");
    $("reset-password-title").focus();
    return true;
  }
  try {
    if (action === "verify-email") {
      await api.verifyEmail(token);
      announce("Your address is verified.");
    } else if (action === "change-email") {
      await api.changeEmail(token);
      announce("Your email was changed.");
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    announce(describe(error));
  }
  return false;
}

async function start() {
  const link = emailedLink();
  if (link && (await follow(link))) return;
  try {
    await signedIn(await api.me());
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    signedOut(error.status === 401 ? "" : describe(error));
  }
}

installFactors({ signedIn, announce });
start();
