// A Node.js server under shardinit: it serves the socket shardinit passes
// as fd 3, and on SIGTERM stops accepting, finishes what it has and exits
// 0. Without the handler node dies of the signal (exit code 143).
const http = require('http');

const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.end(`node ${process.pid}\n`);
});
server.listen({ fd: 3 });

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  // Keep-alive connections that are idle now would hold close() open.
  server.closeIdleConnections();
});
