// Compiled by sdk_types.test.mjs with tsc (strict). The line after each
// expect-error directive must NOT compile: if it does, tsc reports the
// unused directive and the test fails. The rest is ordinary use that must compile.
import {
  RealtimeClient, RealtimeError, UnauthorizedError, parseFrame,
  type Ack, type Channel, type MessageEvent, type SubscribeResult,
} from '../../../../clients/js/index.js';

interface ChatMessage { text: string; mentions?: string[] }

const client = new RealtimeClient({
  url: 'ws://localhost:3100/',
  token: async () => {
    const token = await Promise.resolve('jwt');
    if (token === '') throw new UnauthorizedError('logged out');
    return token;
  },
  pingInterval: 5000,
});

client.on('connected', ({ userId, resumed }) => console.log(userId.length, resumed));
client.on('disconnected', ({ code }) => console.log(code + 1));
client.on('error', (error) => console.log(error.code, error.message));
// @ts-expect-error a misspelled event name
client.on('conected', () => {});
// @ts-expect-error the listener's argument has the wrong shape
client.on('reconnecting', (attempt: string) => console.log(attempt));

const chat: Channel<ChatMessage> = client.channel<ChatMessage>('general');
chat.on('message', (message: MessageEvent<ChatMessage>) => console.log(message.content.text, message.seq));
chat.on('unsubscribed', ({ reason }) => {
  const known: 'deliberate' | 'disconnected' | 'forbidden' | 'not_found' | 'deleted' = reason;
  console.log(known);
});
chat.on('subscribing', ({ reason }) => console.log(reason));
// @ts-expect-error a misspelled channel event
chat.on('mesage', () => {});
// @ts-expect-error content is typed by the channel
chat.on('message', (message) => console.log(message.content.txt));

async function use(): Promise<void> {
  const result: SubscribeResult<ChatMessage> = await chat.subscribe({ history: 20 });
  const seq: number = result.seq;
  console.log(seq, result.messages[0]?.content.text);
  await chat.subscribe({ since: 41 });
  const ack: Ack = await chat.send({ text: 'hi' }, { resend: false });
  console.log(ack.seq, ack.recovered);
  // @ts-expect-error not a ChatMessage
  await chat.send({ body: 'hi' });
  // @ts-expect-error null is never content
  await client.channel('any').send(null);
  await client.channel('any').send([1, 'two', { three: 3 }]);
  client.active();
  const error = new RealtimeError('timeout', 'no ack');
  console.log(error.code, error.event, parseFrame('{"type":"pong"}').length);
  // @ts-expect-error the constructor needs a message
  console.log(new RealtimeError('timeout'));
  console.log(chat.state === 'subscribed', chat.lastSeq);
  // @ts-expect-error not a state of a channel
  console.log(chat.state === 'deleted');
}

void use();
