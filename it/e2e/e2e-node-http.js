// A node HTTP server of its own for make e2e's migrate-node-http (passed to node -e, so no host needs
// the file): http.createServer on ADDR:PORT holding its state in memory: a request counter and MIB
// MiB in one Buffer filled deterministically at start. GET /state answers
// "pid P requests R counter N sum S": R counts the requests served (this one included), N the
// timer's rounds, S the FNV-1a checksum of the buffer (a word of every 64 bytes), recomputed for
// every request. Every INTERVAL ms it prints "pid P counter N sum S" (S recomputed too), as the
// checksum workloads do, so the migration checks see it go on.
// Usage: node e2e-node-http.js ADDR PORT MIB INTERVAL_MS (or node -e CODE ...: the last four arguments)
'use strict';
const http = require('http');

const [addr, portText, mibText, intervalText] = process.argv.slice(-4);
const [port, mib, interval] = [portText, mibText, intervalText].map((a) => parseInt(a, 10));
if (!(port > 0 && mib > 0 && interval > 0)) {
  throw new Error('usage: node e2e-node-http.js ADDR PORT MIB INTERVAL_MS');
}
const buf = Buffer.alloc(mib << 20);
for (let i = 0; i < buf.length; i += 4) {
  buf.writeUInt32LE((Math.imul(i, 2654435761 | 0) ^ (i >>> 11)) >>> 0, i);
}

function checksum() {
  let h = 0x811c9dc5 >>> 0;
  for (let i = 0; i < buf.length; i += 64) {
    h = Math.imul(h ^ buf.readUInt32LE(i), 16777619) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

let requests = 0;
let counter = 0;

const server = http.createServer((req, res) => {
  if (req.url !== '/state') {
    res.writeHead(404);
    res.end();
    return;
  }
  requests++;
  res.writeHead(200, {'Content-Type': 'text/plain'});
  res.end(`pid ${process.pid} requests ${requests} counter ${counter} sum ${checksum()}\n`);
});
server.listen(port, addr);

setInterval(() => {
  process.stdout.write(`pid ${process.pid} counter ${counter++} sum ${checksum()}\n`);
}, interval);
