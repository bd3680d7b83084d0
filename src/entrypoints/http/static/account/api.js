// coatcheck's public HTTP API, with the session cookie (which this page never sees: it is
// HttpOnly). Every failure is an ApiError carrying the problem+json the service answered.

export class ApiError extends Error {
  constructor({ status, type, title, detail, errors = [], retryAfter = null }) {
    super(detail || title);
    this.status = status;
    this.type = type;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }

  // "invalid-credentials", "too-many-attempts", ...: the last part of the problem's type.
  get kind() {
    return this.type ? this.type.split(":").pop() : "";
  }
}

export async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError({ status: 0, type: "network", title: "Network error", detail: "" });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.ok) return data;
  throw new ApiError({
    status: response.status,
    type: data?.type ?? "",
    title: data?.title ?? response.statusText,
    detail: data?.detail ?? "",
    errors: Array.isArray(data?.errors) ? data.errors : [],
    retryAfter: Number.parseInt(response.headers.get("Retry-After") ?? "", 10) || null,
  });
}

export const api = {
  me: () => call("GET", "/authentication"),
  register: (email, name, password) =>
    call("POST", "/authentication/register", { email, name, password }),
  logIn: (email, password, remember) =>
    call("POST", "/authentication/log-in", { email, password, remember }),
  logOut: () => call("POST", "/authentication/log-out"),
  sessions: () => call("GET", "/authentication/sessions"),
  revoke: (id) => call("DELETE", `/authentication/sessions/${encodeURIComponent(id)}`),
  revokeOthers: () => call("DELETE", "/authentication/sessions"),
  changePassword: (currentPassword, newPassword) =>
    call("POST", "/authentication/change-password", { currentPassword, newPassword }),
  askPasswordReset: (email) => call("POST", "/authentication/password-reset", { email }),
  resetPassword: (token, newPassword) =>
    call("POST", "/authentication/password-reset/confirm", { token, newPassword }),
  verifyEmail: (token) => call("POST", "/authentication/verify-email", { token }),
  resendVerification: () => call("POST", "/authentication/verify-email/resend"),
  askEmailChange: (currentPassword, newEmail) =>
    call("POST", "/authentication/change-email", { currentPassword, newEmail }),
  changeEmail: (token) => call("POST", "/authentication/change-email/confirm", { token }),
  deleteAccount: (currentPassword) =>
    call("DELETE", "/authentication/account", { currentPassword }),
};
