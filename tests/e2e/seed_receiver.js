// The seed document's receiver, as a customer would run it: the body is parsed as
// JSON (what express.json() does), re-serialized with JSON.stringify and checked with
// the seed's verifyWebhookSignature, copied verbatim. Prints one JSON line per delivery.
const crypto = require('crypto');
const http = require('http');

function verifyWebhookSignature(payload, signature, secret) {
const expected = crypto
.createHmac('sha256', secret)
.update(payload)
.digest('hex');
return `sha256=${expected}` === signature;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    req.body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const signature = req.headers['x-pacspace-signature'];
    const isValid = verifyWebhookSignature(
      JSON.stringify(req.body),
      signature,
      process.env.PACSPACE_WEBHOOK_SECRET
    );
    console.log(JSON.stringify({
      valid: isValid, event: req.body.event, delivery: req.headers['x-pacspace-delivery'],
    }));
    if (!isValid) {
      res.statusCode = 401;
      return res.end('Invalid signature');
    }
    res.statusCode = 200;
    res.end('OK');
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
