// API errors, shown to the person next to what caused them: a field's own message under
// that field (aria-invalid, and its error is in the field's aria-describedby), everything
// else in the form's alert, just above its button. The page's HTML holds neither: a bound
// form gets them here, so that their ids and descriptions follow one rule.

import { ApiError } from "./api.js";

function seconds(count) {
  return count === 1 ? "1 second" : `${count} seconds`;
}

// What to tell a person about an error (the service's own detail when nothing better).
export function describe(error) {
  switch (error.kind) {
    case "invalid-credentials":
      return "Wrong email or password.";
    case "too-many-attempts":
      return error.retryAfter
        ? `Too many attempts. Try again in ${seconds(error.retryAfter)}.`
        : "Too many attempts. Try again later.";
    case "store-unavailable":
      return "The service is unavailable right now (a store did not answer). Try again in a moment.";
    case "network":
      return "The service could not be reached. Check your connection and try again.";
    case "email-taken":
      return "An account with this email already exists. Log in instead.";
    case "wrong-password":
      return "Your current password is wrong.";
    case "not-authenticated":
      return "Your session has ended. Log in again.";
    case "not-found":
      return "That session has already ended.";
    case "invalid-token":
      return "This link is invalid, used or expired. Ask for a new one.";
    case "too-many-emails":
      return error.retryAfter
        ? `Too many emails asked for. Try again in ${seconds(error.retryAfter)}.`
        : "Too many emails asked for. Try again later.";
    case "email-unavailable":
      return "This service sends no email, so this cannot be done here.";
    case "email-not-verified":
      return "Verify your address first: follow the link we emailed.";
    case "invalid-request":
      return "Check the fields marked above.";
    case "reauthentication-required":
      return "This needs a recent log-in: confirm it is you (below), and it is sent again.";
    case "invalid-code":
    case "invalid-second-factor":
      return "That code is wrong or was used already.";
    case "invalid-passkey":
      return "The passkey was not accepted.";
    case "no-pending-log-in":
      return "This log-in took too long. Log in again.";
    default:
      return error.detail || error.title || "Something went wrong. Try again.";
  }
}

// Errors that belong to one field, by the field's name in the API.
function fieldErrors(error) {
  if (error.kind === "email-taken") return [{ field: "email", message: describe(error) }];
  if (error.kind === "wrong-password") {
    return [{ field: "currentPassword", message: describe(error) }];
  }
  return error.errors.map(({ field, message }) => ({ field, message: sentence(message) }));
}

function sentence(text) {
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function errorId(element) {
  return `${element.id}-error`;
}

function errorOf(element) {
  return document.getElementById(errorId(element));
}

function hiddenMessage(className, id) {
  const message = document.createElement("p");
  message.className = className;
  message.id = id;
  message.hidden = true;
  return message;
}

// The form's alert, just above its submit button, and each field's error, under its input:
// the field's hint (if any) and its error describe the input.
function addMessages(form) {
  const alert = hiddenMessage("form-error", errorId(form));
  alert.setAttribute("role", "alert");
  form.querySelector("button[type=submit]").before(alert);
  for (const field of form.querySelectorAll(".field")) {
    const input = field.querySelector("input");
    const hint = field.querySelector(".hint");
    const error = hiddenMessage("field-error", errorId(input));
    field.append(error);
    if (hint) hint.id = `${input.id}-hint`;
    input.setAttribute("aria-describedby", hint ? `${hint.id} ${error.id}` : error.id);
  }
}

export function clearErrors(form) {
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
  for (const message of form.querySelectorAll(".field-error, .form-error")) {
    message.textContent = "";
    message.hidden = true;
  }
}

export function showFormError(form, text) {
  const message = errorOf(form);
  message.textContent = text;
  message.hidden = false;
}

// Shows the error in the form; returns the first field it marked invalid, if any.
export function showError(form, error) {
  let first = null;
  let unplaced = false;
  for (const { field, message } of fieldErrors(error)) {
    const input = form.elements.namedItem(field);
    if (!(input instanceof HTMLInputElement) || input.type === "hidden") {
      unplaced = true;
      continue;
    }
    input.setAttribute("aria-invalid", "true");
    const text = errorOf(input);
    text.textContent = message;
    text.hidden = false;
    first ??= input;
  }
  const placed = first !== null && !unplaced;
  if (!placed || error.kind === "invalid-request") {
    showFormError(form, unplaced ? error.detail || describe(error) : describe(error));
  }
  return first;
}

// A button that asks the API: disabled while `act()` runs; an ApiError it throws is shown in
// `message`, the button's own alert.
export function bindButton(button, message, act) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    message.hidden = true;
    try {
      await act();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      message.textContent = describe(error);
      message.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
}

// Submits the form through `submit(values)`; an ApiError it throws is shown in the form.
export function bindForm(form, submit) {
  addMessages(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button.disabled) return;
    clearErrors(form);
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      await submit(Object.fromEntries(new FormData(form)));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showError(form, error)?.focus();
      if (error.kind === "reauthentication-required") {
        const detail = { form };
        document.dispatchEvent(new CustomEvent("coatcheck:reauthentication-required", { detail }));
      }
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
}
