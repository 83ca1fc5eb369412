// The benchmark's CPU-bound node server: each request hashes ROUNDS times
// with SHA-256 (BENCH_ROUNDS, default 800) before it answers with its PID.
//
//   node server.js fd3               serve the socket inherited on fd 3 (shardinit)
//   node server.js plain PORT        one process binds 127.0.0.1:PORT
//   node server.js cluster PORT N    node's cluster module: a primary and N workers
//
// Prints "READY" on stdout once every process serves. SIGTERM closes the
// listener, lets the open requests finish and exits 0.
'use strict';
const http = require('http');
const crypto = require('crypto');
const cluster = require('cluster');

const rounds = parseInt(process.env.BENCH_ROUNDS || '800', 10);
const [mode, port, count] = process.argv.slice(2);
const slot = process.env.SHARDINIT_SLOT || (cluster.isWorker ? String(cluster.worker.id - 1) : '0');
const workers = process.env.SHARDINIT_SLOTS || count || '1';

function handler(req, res) {
  let h = Buffer.from(req.url);
  for (let i = 0; i < rounds; i++) h = crypto.createHash('sha256').update(h).digest();
  res.end(`node from worker ${slot} of ${workers} (pid ${process.pid}) ${h.toString('hex', 0, 4)}\n`);
}

function serve(target, onListening) {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 30000;
  server.listen(target, onListening);
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  });
}

if (mode === 'fd3') {
  serve({ fd: 3 }, () => console.log('READY'));
} else if (mode === 'plain') {
  serve({ host: '127.0.0.1', port: Number(port) }, () => console.log('READY'));
} else if (mode === 'cluster') {
  if (cluster.isPrimary) {
    const n = Number(count);
    let listening = 0;
    cluster.on('listening', () => { if (++listening === n) console.log('READY'); });
    for (let i = 0; i < n; i++) cluster.fork();
    process.on('SIGTERM', () => {
      for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
      cluster.on('exit', () => { if (Object.keys(cluster.workers).length === 0) process.exit(0); });
      setTimeout(() => process.exit(0), 5000).unref();
    });
  } else {
    serve({ host: '127.0.0.1', port: Number(port) }, () => {});
  }
} else {
  console.error('usage: server.js fd3 | plain PORT | cluster PORT N');
  process.exit(2);
}
