// GET /authentication/events: this session's events, live, over a WebSocket that the
// cookie authenticates. The server closes it with 4001 right after a "session-ended" event.
// Any other close (the network, a restart of the server) is followed by a new socket after a
// pause, unless `alive()` says the session has ended meanwhile: a refused handshake looks
// to a page like any other close.

const SESSION_ENDED = 4001;
const FIRST_PAUSE_MS = 500;
const LAST_PAUSE_MS = 10000;

export function watchSession({ onEnded, onChanged, alive }) {
  let socket = null;
  let stopped = false;
  let pause = FIRST_PAUSE_MS;
  let reason = null;

  function end(why) {
    stopped = true;
    onEnded(why);
  }

  function open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/authentication/events`);
    socket.addEventListener("message", ({ data }) => {
      let event;
      try {
        event = JSON.parse(data);
      } catch {
        return;
      }
      if (event.type === "ready") pause = FIRST_PAUSE_MS;
      else if (event.type === "sessions-changed") onChanged();
      else if (event.type === "session-ended") reason = event.reason;
    });
    socket.addEventListener("close", async ({ code }) => {
      if (stopped) return;
      if (code === SESSION_ENDED) {
        end(reason ?? "ended");
        return;
      }
      if ((await alive()) === false) {
        end("ended");
        return;
      }
      setTimeout(() => stopped || open(), pause);
      pause = Math.min(pause * 2, LAST_PAUSE_MS);
    });
  }

  open();
  return {
    stop() {
      stopped = true;
      socket?.close(1000);
    },
  };
}
