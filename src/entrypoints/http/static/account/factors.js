// Second factors on the account page: the second step of a log-in, "Log in with a passkey",
// the authenticator app, passkeys, recovery codes, and the prompt to confirm it is you when
// something needs a recent log-in (the form that asked is then sent again).

import { ApiError, call } from "./api.js";
import { bindForm, clearErrors, describe, showFormError } from "./forms.js";

const $ = (id) => document.getElementById(id);

export const factorsApi = {
  secondFactor: (body) => call("POST", "/authentication/log-in/second-factor", body),
  secondFactorOptions: () => call("POST", "/authentication/log-in/second-factor/options"),
  passkeyLogInOptions: () => call("POST", "/authentication/passkey-log-in/options", {}),
  passkeyLogIn: (credential) => call("POST", "/authentication/passkey-log-in", { credential }),
  factors: () => call("GET", "/authentication/factors"),
  passkeys: () => call("GET", "/authentication/passkeys"),
  passkeyOptions: () => call("POST", "/authentication/passkeys/options"),
  addPasskey: (credential, name) => call("POST", "/authentication/passkeys", { credential, name }),
  renamePasskey: (id, name) =>
    call("PATCH", `/authentication/passkeys/${encodeURIComponent(id)}`, { name }),
  removePasskey: (id) => call("DELETE", `/authentication/passkeys/${encodeURIComponent(id)}`),
  startTotp: () => call("POST", "/authentication/totp"),
  confirmTotp: (code) => call("POST", "/authentication/totp/confirm", { code }),
  removeTotp: (currentPassword, code) =>
    call("DELETE", "/authentication/totp", { currentPassword, code }),
  newRecoveryCodes: (currentPassword) =>
    call("POST", "/authentication/recovery-codes", { currentPassword }),
  reauthenticate: (body) => call("POST", "/authentication/reauthenticate", body),
  reauthenticateOptions: () => call("POST", "/authentication/reauthenticate/options"),
};

let hooks = { signedIn: async () => {}, announce: () => {} };
let retry = null; // the form to send again once the person confirmed it is them

// A passkey's assertion or registration, as the JSON the API takes.
async function assertion(options) {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
  return (await navigator.credentials.get({ publicKey })).toJSON();
}

async function creation(options) {
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
  return (await navigator.credentials.create({ publicKey })).toJSON();
}

function passkeyError(form, error) {
  if (error instanceof ApiError) throw error;
  showFormError(form, "The passkey was not used (cancelled, or this device has none).");
}

function leaveSecondStep() {
  $("second-factor").hidden = true;
}

// After a right password of an account with a second factor (`pending` is the answer).
export function secondStep(pending) {
  for (const id of ["signed-out", "reset-password", "signed-in"]) $(id).hidden = true;
  const form = $("second-factor");
  clearErrors(form);
  form.reset();
  $("second-factor-code-field").hidden = !pending.methods.includes("totp");
  $("second-factor-passkey").hidden = !pending.methods.includes("passkey");
  form.hidden = false;
  $("second-factor-title").focus();
}

async function loggedIn(user, text) {
  leaveSecondStep();
  hooks.announce(text ?? `Logged in as ${user.name}.`);
  await hooks.signedIn(user, true);
}

function bindSecondStep() {
  bindForm($("second-factor"), async ({ code, recoveryCode }) => {
    const body = recoveryCode?.trim() ? { recoveryCode } : { code: code ?? "" };
    await loggedIn(await factorsApi.secondFactor(body));
  });
  $("second-factor-passkey").addEventListener("click", async () => {
    const form = $("second-factor");
    clearErrors(form);
    try {
      const credential = await assertion(await factorsApi.secondFactorOptions());
      await loggedIn(await factorsApi.secondFactor({ credential }));
    } catch (error) {
      if (error instanceof ApiError) showFormError(form, describe(error));
      else passkeyError(form, error);
    }
  });
  bindForm($("passkey-log-in"), async () => {
    let credential;
    try {
      credential = await assertion(await factorsApi.passkeyLogInOptions());
    } catch (error) {
      return passkeyError($("passkey-log-in"), error);
    }
    await loggedIn(await factorsApi.passkeyLogIn(credential));
  });
}

// The account's factors, as the signed-in page shows them.
export async function showFactors() {
  try {
    const [factors, passkeys] = await Promise.all([factorsApi.factors(), factorsApi.passkeys()]);
    render(factors, passkeys);
    $("factors-error").hidden = true;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    $("factors-error").textContent = describe(error);
    $("factors-error").hidden = false;
  }
}

function render(factors, passkeys) {
  const parts = [];
  if (factors.totp) parts.push("an authenticator app");
  if (factors.passkeys) parts.push(factors.passkeys === 1 ? "a passkey" : `${factors.passkeys} passkeys`);
  $("factors-summary").textContent = parts.length
    ? `Log-ins need ${parts.join(" or ")} after the password. ${factors.recoveryCodes} recovery codes left.`
    : "Log-ins need only your password. Add an authenticator app or a passkey.";
  $("totp-start").hidden = factors.totp;
  $("totp-remove").hidden = !factors.totp;
  $("recovery-new").hidden = !parts.length;
  $("passkeys").replaceChildren(...passkeys.map(passkeyItem));
}

function passkeyItem(passkey) {
  const item = $("passkey-item").content.firstElementChild.cloneNode(true);
  item.querySelector(".passkey-name").textContent = passkey.name;
  const rename = item.querySelector(".passkey-rename");
  const label = item.querySelector(".passkey-rename-label");
  rename.id = `passkey-rename-${passkey.id}`;
  label.htmlFor = rename.id;
  label.textContent = `New name for the passkey ${passkey.name}`;
  rename.value = passkey.name;
  const message = item.querySelector(".row-error");
  const save = item.querySelector(".passkey-save");
  save.setAttribute("aria-label", `Rename the passkey ${passkey.name}`);
  save.addEventListener("click", () =>
    act(message, async () => {
      await factorsApi.renamePasskey(passkey.id, rename.value);
      hooks.announce(`The passkey is now called ${rename.value}.`);
    }),
  );
  const remove = item.querySelector(".passkey-remove");
  remove.setAttribute("aria-label", `Remove the passkey ${passkey.name}`);
  remove.addEventListener("click", () =>
    act(message, async () => {
      await factorsApi.removePasskey(passkey.id);
      hooks.announce(`The passkey ${passkey.name} was removed.`);
    }),
  );
  return item;
}

async function act(message, work) {
  message.textContent = "";
  try {
    await work();
    await showFactors();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    message.textContent = describe(error);
    if (error.kind === "reauthentication-required") askToConfirm(null);
  }
}

function showRecoveryCodes(codes) {
  if (!codes) return;
  $("recovery-codes").replaceChildren(
    ...codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }),
  );
  $("recovery-codes-shown").hidden = false;
}

function showQr(svg) {
  const parsed = new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
  $("totp-qr").replaceChildren(document.importNode(parsed, true));
}

function bindManagement() {
  $("totp-start").addEventListener("click", () =>
    act($("factors-error"), async () => {
      $("factors-error").hidden = false;
      const setup = await factorsApi.startTotp();
      showQr(setup.qrSvg);
      $("totp-secret").textContent = setup.secret;
      $("totp-confirm").hidden = false;
      $("totp-code").focus();
    }),
  );
  bindForm($("totp-confirm"), async ({ code }) => {
    const added = await factorsApi.confirmTotp(code);
    $("totp-confirm").reset();
    $("totp-confirm").hidden = true;
    showRecoveryCodes(added.recoveryCodes);
    hooks.announce("The authenticator app is on: log-ins ask for its code.");
    await showFactors();
  });
  bindForm($("totp-remove"), async ({ currentPassword, code }) => {
    await factorsApi.removeTotp(currentPassword, code);
    $("totp-remove").reset();
    hooks.announce("The authenticator app was removed.");
    await showFactors();
  });
  bindForm($("passkey-add"), async ({ name }) => {
    const options = await factorsApi.passkeyOptions();
    let credential;
    try {
      credential = await creation(options);
    } catch (error) {
      return passkeyError($("passkey-add"), error);
    }
    const added = await factorsApi.addPasskey(credential, name || "Passkey");
    showRecoveryCodes(added.recoveryCodes);
    hooks.announce(`The passkey ${name || "Passkey"} was added.`);
    await showFactors();
  });
  bindForm($("recovery-new"), async ({ currentPassword }) => {
    const made = await factorsApi.newRecoveryCodes(currentPassword);
    $("recovery-new").reset();
    showRecoveryCodes(made.recoveryCodes);
    hooks.announce("New recovery codes: the old ones no longer work.");
    await showFactors();
  });
}

// Something needed a recent log-in: ask, then send `form` again (if any).
function askToConfirm(form) {
  retry = form;
  const prompt = $("reauthenticate");
  clearErrors(prompt);
  prompt.reset();
  prompt.hidden = false;
  $("reauthenticate-title").focus();
}

async function confirmed() {
  const prompt = $("reauthenticate");
  prompt.reset();
  prompt.hidden = true;
  hooks.announce("Confirmed.");
  const form = retry;
  retry = null;
  if (form) form.requestSubmit();
  else await showFactors();
}

function bindReauthentication() {
  document.addEventListener("coatcheck:reauthentication-required", (event) => {
    askToConfirm(event.detail.form);
  });
  bindForm($("reauthenticate"), async ({ password, code }) => {
    await factorsApi.reauthenticate(code?.trim() ? { code } : { password });
    await confirmed();
  });
  $("reauthenticate-passkey").addEventListener("click", async () => {
    const prompt = $("reauthenticate");
    clearErrors(prompt);
    try {
      const credential = await assertion(await factorsApi.reauthenticateOptions());
      await factorsApi.reauthenticate({ credential });
      await confirmed();
    } catch (error) {
      if (error instanceof ApiError) showFormError(prompt, describe(error));
      else passkeyError(prompt, error);
    }
  });
}

// Signed out: nothing of the account's factors stays in the page (recovery codes, the app's
// secret), and no prompt of it stays open.
export function forgetFactors() {
  $("recovery-codes").replaceChildren();
  $("recovery-codes-shown").hidden = true;
  $("totp-secret").textContent = "";
  $("totp-qr").replaceChildren();
  $("totp-confirm").hidden = true;
  $("reauthenticate").hidden = true;
  $("passkeys").replaceChildren();
  retry = null;
}

// Called once by the page: how to show a signed-in person, and how to tell news.
export function installFactors(pageHooks) {
  hooks = pageHooks;
  bindSecondStep();
  bindManagement();
  bindReauthentication();
}
