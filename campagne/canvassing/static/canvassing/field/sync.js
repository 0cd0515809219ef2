// Sending the outbox: doors in batches (one request per session, at most 100 doors),
// reports one by one. The server stores each uuid once, so sending twice is harmless:
// whatever it answers "stored" or "duplicate" leaves the outbox. A record it refuses
// (rejected, or a session no longer ours: 404/403) leaves the outbox too, counted as
// refused; a network failure, a server error or a throttle (429) keeps everything for
// the next try (on load, when the network comes back, and every 30 seconds).

// The store module is passed in rather than imported: the app imports each module by
// its (hashed, in production) static URL, which a relative import would not match.

const BATCH = 100;
let running = null;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function post(url, body) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
}

class Stop extends Error {}

async function sendDoors(store, config, items, outcome) {
  const bySession = new Map();
  for (const item of items) {
    const key = item.body.session_id;
    if (!bySession.has(key)) bySession.set(key, []);
    bySession.get(key).push(item);
  }
  for (const group of bySession.values()) {
    for (let start = 0; start < group.length; start += BATCH) {
      const chunk = group.slice(start, start + BATCH);
      const response = await post(config.batch, { records: chunk.map((item) => item.body) });
      if (response.status === 401) throw new Stop("login");
      if (response.status === 403 || response.status === 404 || response.status === 422) {
        outcome.refused += chunk.length;
        await store.remove("outbox", chunk.map((item) => item.client_uuid));
        continue;
      }
      if (!response.ok) throw new Stop("server");
      const answer = await response.json();
      const finished = [];
      for (const result of answer.results) {
        finished.push(result.client_uuid);
        if (result.status === "rejected") outcome.refused += 1;
        else outcome.sent += 1;
      }
      await store.remove("outbox", finished);
    }
  }
}

async function sendReports(store, config, items, outcome) {
  for (const item of items) {
    const response = await post(config.reports, item.body);
    if (response.status === 401) throw new Stop("login");
    if (response.ok) outcome.sent += 1;
    else if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      outcome.refused += 1;
    } else {
      throw new Stop("server");
    }
    await store.remove("outbox", [item.client_uuid]);
  }
}

// One flush at a time; a call during a flush waits for it and returns its outcome.
export function flush(store, config, user) {
  if (running) return running;
  running = (async () => {
    const outcome = { sent: 0, refused: 0, stopped: "" };
    try {
      const items = (await store.all("outbox")).filter((item) => item.user === user);
      items.sort((a, b) => (a.created < b.created ? -1 : 1));
      await sendDoors(store, config, items.filter((item) => item.kind === "door"), outcome);
      await sendReports(store, config, items.filter((item) => item.kind === "report"), outcome);
    } catch (error) {
      outcome.stopped = error instanceof Stop ? error.message : "network";
    } finally {
      running = null;
    }
    return outcome;
  })();
  return running;
}

export async function pending(store, user) {
  const items = await store.all("outbox");
  return items.filter((item) => item.user === user).length;
}
