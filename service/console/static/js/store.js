// IndexedDB: the only browser storage the console uses.
//
// Two stores: "session" holds, when the user asks for it, the imported CryptoKey objects
// (non-extractable: IndexedDB keeps them as opaque handles, their bytes cannot be read back)
// for the life of the browser tab; "trust" holds what the console learned and must remember
// to detect a split view or a rewritten log: the pinned broker identity and the last verified
// checkpoint. Nothing is ever written to localStorage.

const DB_NAME = "liaison-console";
const DB_VERSION = 1;

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("session")) db.createObjectStore("session");
      if (!db.objectStoreNames.contains("trust")) db.createObjectStore("trust");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(storeName, mode, operation) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(storeName, mode);
      const request = operation(tx.objectStore(storeName));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export function get(storeName, key) {
  return run(storeName, "readonly", (store) => store.get(key));
}

export function put(storeName, key, value) {
  return run(storeName, "readwrite", (store) => store.put(value, key));
}

export function remove(storeName, key) {
  return run(storeName, "readwrite", (store) => store.delete(key));
}
