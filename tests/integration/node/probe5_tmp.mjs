import WebSocket from 'ws';
import crypto from 'crypto';
const secret = process.env.SECRET;
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function tok(u){const h = b64({alg:'HS256',typ:'JWT'}), p = b64({sub:u, exp: Math.floor(Date.now()/1000)+600});
return `${h}.${p}.`+crypto.createHmac('sha256', secret).update(h+'.'+p).digest('base64url');}
for (const ch of (process.env.CHS||'bench-fanout').split(',')) { let line = ch + ':';
for (let i = 0; i < 4; i++) {
  await new Promise((resolve) => {
  const ws = new WebSocket(`ws://127.0.0.1:${process.env.PORT}/?token=${tok('s'+i)}`);
  const t = setTimeout(() => { line += ' NO'; ws.close(); resolve(); }, 500);
  ws.on('message', (m) => { const e = JSON.parse(m); if (e.type !== 'auth_ok') { line += ' ' + e.type; clearTimeout(t); ws.close(); resolve(); } });
  ws.on('open', () => ws.send(JSON.stringify({type:'subscribe',channel:ch,ref:1})));
  });
} console.log(line); }
process.exit(0);
