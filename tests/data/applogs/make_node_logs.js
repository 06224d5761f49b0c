// Writes pino.log, pino-http.log and bunyan.log beside this file: real output of the pino
// (9.x), pino-http (10.x) and bunyan (1.x) packages for a Node service that calls a token
// endpoint and a FHIR API served on loopback by this script. See README.md for how to run it.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const pino = require('pino');
const pinoHttp = require('pino-http');
const bunyan = require('bunyan');

const PORT = 8742;                      // fixed, so the logged URLs are the same at each run
const CLOSED_PORT = 8743;               // nothing listens here: a refused connection
const ORIGIN = `http://127.0.0.1:${PORT}`;
const TOKEN_URL = `${ORIGIN}/oauth/token`;
const DIR = process.env.OUT_DIR || __dirname;
const out = (name) => fs.openSync(path.join(DIR, name), 'w');

// The provider's side, logged by pino-http: every request to the stub and its answer.
const serverLog = pino(pino.destination({ fd: out('pino-http.log'), sync: true }));
const logRequests = pinoHttp({ logger: serverLog });
const answers = {
  'POST /oauth/token': [400, { 'content-type': 'application/json' }, '{"error":"invalid_scope"}'],
  'GET /fhir/R4/Patient?family=Rivera': [429, { 'content-type': 'application/json', 'retry-after': '30' },
    '{"error":"rate_limited"}'],
  'GET /fhir/R4/Observation': [401, {
    'www-authenticate': 'Bearer error="invalid_token", error_description="The access token expired"' }, ''],
};
const server = http.createServer((req, res) => {
  logRequests(req, res);
  req.resume();
  req.on('end', () => {
    const [status, headers, body] = answers[`${req.method} ${req.url}`] || [404, {}, ''];
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.statusCode = status;  // set so, pino-http's res serializer sees the headers
    res.end(body);
  });
});

function call(method, url, headers, body) {
  return new Promise((resolve) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ req, res, text }));
    });
    req.on('error', (err) => resolve({ req, err }));
    req.end(body);
  });
}

// The client's side: the service logs each refused call with req/res (and err) fields.
const form = 'grant_type=client_credentials&client_id=loop-client&scope=patient360';
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
async function clientCalls(log, errKey) {
  const token = await call('POST', TOKEN_URL, formHeaders, form);
  log.error({ req: { method: 'POST', url: TOKEN_URL },
              res: { statusCode: token.res.statusCode, headers: token.res.headers },
              body: token.text }, 'token request refused');
  const api = await call('GET', `${ORIGIN}/fhir/R4/Patient?family=Rivera`,
    { authorization: 'Bearer at-loop-0a1b2c3d4e5f' });
  log.warn({ req: { method: 'GET', url: `${ORIGIN}/fhir/R4/Patient?family=Rivera` },
             res: { statusCode: api.res.statusCode, headers: api.res.headers } }, 'FHIR call refused');
  const refused = await call('POST', `http://127.0.0.1:${CLOSED_PORT}/oauth/token`, formHeaders, form);
  log.error({ req: { method: 'POST', url: `http://127.0.0.1:${CLOSED_PORT}/oauth/token` },
              [errKey]: refused.err }, 'token request failed');
  log.info('done');
}

server.listen(PORT, '127.0.0.1', async () => {
  await call('POST', TOKEN_URL, formHeaders, form);
  await call('GET', `${ORIGIN}/fhir/R4/Patient?family=Rivera`, { authorization: 'Bearer at-loop-0a1b2c3d4e5f' });
  await call('GET', `${ORIGIN}/fhir/R4/Observation`, { authorization: 'Bearer at-loop-0a1b2c3d4e5f' });
  await clientCalls(pino({ base: { pid: process.pid, hostname: 'billing-1' } },
    pino.destination({ fd: out('pino.log'), sync: true })), 'err');
  await clientCalls(bunyan.createLogger({ name: 'billing', serializers: bunyan.stdSerializers,
    streams: [{ stream: fs.createWriteStream(path.join(DIR, 'bunyan.log')) }] }), 'err');
  setTimeout(() => server.close(), 200);
});
