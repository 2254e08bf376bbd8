import WebSocket from 'ws';
import crypto from 'crypto';
const secret = process.env.SECRET;
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function tok(u){const h = b64({alg:'HS256',typ:'JWT'}), p = b64({sub:u, exp: Math.floor(Date.now()/1000)+600});
return `${h}.${p}.`+crypto.createHmac('sha256', secret).update(h+'.'+p).digest('base64url');}
const n = Number(process.env.N || 4);
for (let i = 0; i < n; i++) {
  const ws = new WebSocket(`ws://127.0.0.1:${process.env.PORT}/?token=${tok((process.env.U||'p')+i)}`);
  ws.on('message', (m) => { const e = JSON.parse(m); if (e.type !== 'auth_ok') console.log(i, e.type, e.code ?? ''); });
  ws.on('open', () => ws.send(JSON.stringify({type:'subscribe',channel:'bench-fanout',ref:1})));
}
setTimeout(() => process.exit(0), 1500);
