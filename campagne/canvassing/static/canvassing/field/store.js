// The phone's own storage (IndexedDB): what must survive a closed browser.
//
// - "outbox": doors and reports not yet accepted by the server, keyed by their uuid;
// - "doors": every door recorded on this phone (to show what is done, offline too);
// - "kv": the last assignment bundle.
// Each item carries the user id, so that a phone shared by two volunteers never sends
// one's doors under the other's login.

const NAME = "campagne-terrain";
const VERSION = 1;

let opening = null;

export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains("outbox")) {
          db.createObjectStore("outbox", { keyPath: "client_uuid" });
        }
        if (!db.objectStoreNames.contains("doors")) {
          db.createObjectStore("doors", { keyPath: "client_uuid" });
        }
        if (!db.objectStoreNames.contains("kv")) {
          db.createObjectStore("kv", { keyPath: "key" });
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(stores, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, mode);
    let result;
    Promise.resolve(work(tx)).then((value) => { result = value; }, reject);
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export function put(store, value) {
  return run([store], "readwrite", (tx) => done(tx.objectStore(store).put(value)));
}

export function get(store, key) {
  return run([store], "readonly", (tx) => done(tx.objectStore(store).get(key)));
}

export function all(store) {
  return run([store], "readonly", (tx) => done(tx.objectStore(store).getAll()));
}

export function remove(store, keys) {
  return run([store], "readwrite", (tx) => {
    const objects = tx.objectStore(store);
    for (const key of keys) objects.delete(key);
  });
}

// A door is recorded: kept in the history and queued for the server, in one transaction.
export function recordDoor(item) {
  return run(["outbox", "doors"], "readwrite", (tx) => {
    tx.objectStore("outbox").put(item);
    tx.objectStore("doors").put({
      client_uuid: item.client_uuid,
      user: item.user,
      session_id: item.body.session_id,
      address_id: item.body.address_id,
      door: item.body.door,
      outcome: item.body.outcome,
      recorded_at: item.body.recorded_at,
    });
  });
}
