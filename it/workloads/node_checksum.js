// A timer-driven node workload for lazymig's tests: fills MIB MiB of Buffers deterministically,
// then every INTERVAL ms checksums them (FNV-1a over 64-bit words, as 32-bit halves) and prints
// "pid P counter N sum S": the same S every round while the memory is intact.
// Usage: node node_checksum.js MIB INTERVAL_MS (or node -e CODE MIB INTERVAL_MS: the last two arguments)
'use strict';
const [mib, interval] = process.argv.slice(-2).map((a) => parseInt(a, 10));
if (!(mib > 0 && interval > 0)) {
  throw new Error('usage: node node_checksum.js MIB INTERVAL_MS');
}
const bufs = [];
for (let m = 0; m < mib; m++) {
  const b = Buffer.alloc(1 << 20);
  for (let i = 0; i < b.length; i += 4) {
    b.writeUInt32LE(((m * 2654435761) ^ (i * 40503) ^ (i >>> 7)) >>> 0, i);
  }
  bufs.push(b);
}
function checksum() {
  let h = 0x811c9dc5 >>> 0;
  for (const b of bufs) {
    for (let i = 0; i < b.length; i += 4096) {
      h = Math.imul(h ^ b.readUInt32LE(i), 16777619) >>> 0;
      h = Math.imul(h ^ b.readUInt32LE(i + 2048), 16777619) >>> 0;
    }
  }
  return h.toString(16).padStart(8, '0');
}
let counter = 0;
setInterval(() => {
  process.stdout.write(`pid ${process.pid} counter ${counter++} sum ${checksum()}\n`);
}, interval);
