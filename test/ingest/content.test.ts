import { proto } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { classifyContent, type ContentInfo } from '../../src/ingest/content.js';
import { content, wrap } from '../support/wa-fixtures.js';

/** Builds through proto classes, as Baileys hands content over after decoding. */
const P = (m: proto.IMessage) => proto.Message.fromObject(m);

function asContent(m: proto.IMessage | null | undefined): ContentInfo {
  const c = classifyContent(m);
  if (c.kind !== 'content') throw new Error(`expected content, got ${JSON.stringify(c)}`);
  return c;
}

describe('classifyContent: message types and bodies', () => {
  it.each([
    ['conversation', content.text('hello'), 'text', 'conversation', 'hello'],
    ['extended text', content.extendedText('a link https://x.y'), 'text', 'extendedTextMessage', 'a link https://x.y'],
    ['image with caption', content.image({ caption: 'look' }), 'image', 'imageMessage', 'look'],
    ['image without caption', content.image(), 'image', 'imageMessage', ''],
    ['video with caption', content.video({ caption: 'clip' }), 'video', 'videoMessage', 'clip'],
    ['video note (ptv)', content.videoNote(), 'video', 'ptvMessage', ''],
    ['audio', content.audio(), 'audio', 'audioMessage', ''],
    ['voice note (ptt)', content.audio({ ptt: true }), 'audio', 'audioMessage', ''],
    ['document', content.document({ fileName: 'a.pdf' }), 'document', 'documentMessage', ''],
    ['document with caption (wrapper)', content.documentWithCaption('the contract'), 'document', 'documentMessage', 'the contract'],
    ['sticker', content.sticker(), 'sticker', 'stickerMessage', ''],
    ['location with name', content.location(44.43, 26.1, 'Office', 'Str. X 1'), 'location', 'locationMessage', 'Office'],
    ['location with address only', content.location(44.43, 26.1, undefined, 'Str. X 1'), 'location', 'locationMessage', 'Str. X 1'],
    ['bare location', content.location(44.43, 26.1), 'location', 'locationMessage', '44.43,26.1'],
    ['live location', content.liveLocation(1.5, -2.25), 'location', 'liveLocationMessage', '1.5,-2.25'],
    ['contact', content.contact('Ana Pop'), 'contact', 'contactMessage', 'Ana Pop'],
    ['contacts array, titled', content.contacts(['A', 'B'], '2 contacts'), 'contact', 'contactsArrayMessage', '2 contacts'],
    ['contacts array, untitled', content.contacts(['A', 'B']), 'contact', 'contactsArrayMessage', 'A, B'],
    ['poll v1', content.poll('Lunch?', ['yes', 'no'], 1), 'poll', 'pollCreationMessage', 'Lunch?'],
    ['poll v2', content.poll('Lunch?', ['yes', 'no'], 2), 'poll', 'pollCreationMessageV2', 'Lunch?'],
    ['poll v3', content.poll('Lunch?', ['yes', 'no'], 3), 'poll', 'pollCreationMessageV3', 'Lunch?'],
    ['reaction', content.reaction('TARGET1', '👍'), 'reaction', 'reactionMessage', '👍'],
    ['reaction removed', content.reaction('TARGET1', ''), 'reaction', 'reactionMessage', ''],
    ['event (other)', { eventMessage: { name: 'Party' } }, 'other', 'eventMessage', 'Party'],
    ['group invite (other)', { groupInviteMessage: { groupName: 'Team' } }, 'other', 'groupInviteMessage', 'Team'],
    ['button reply (other)', { buttonsResponseMessage: { selectedDisplayText: 'Yes' } }, 'other', 'buttonsResponseMessage', 'Yes'],
  ] as const)('%s', (_name, message, messageType, contentType, body) => {
    for (const m of [P(message), message]) {
      const c = asContent(m);
      expect(c).toMatchObject({ messageType, contentType, body });
    }
  });

  it.each([
    ['ephemeral', wrap.ephemeral],
    ['viewOnce', wrap.viewOnce],
    ['viewOnceV2', wrap.viewOnceV2],
    ['viewOnceV2Extension', wrap.viewOnceV2Extension],
    ['ephemeral(viewOnceV2)', (m: proto.IMessage) => wrap.ephemeral(wrap.viewOnceV2(m))],
  ])('unwraps %s', (_name, w) => {
    expect(asContent(P(w(content.image({ caption: 'secret' }))))).toMatchObject({
      messageType: 'image',
      contentType: 'imageMessage',
      body: 'secret',
    });
    expect(asContent(P(w(content.text('hi'))))).toMatchObject({ messageType: 'text', body: 'hi' });
  });

  it('ephemeral documentWithCaption keeps caption and file name', () => {
    const c = asContent(
      P(wrap.ephemeral(content.documentWithCaption('see attached', { fileName: 'q3.xlsx', mimetype: 'application/vnd.ms-excel' }))),
    );
    expect(c).toMatchObject({
      messageType: 'document',
      body: 'see attached',
      mediaFilename: 'q3.xlsx',
      mediaMimetype: 'application/vnd.ms-excel',
    });
  });
});

describe('classifyContent: media fields', () => {
  it('copies mime, url, size (Long → number) and base64 keys', () => {
    const m = P(content.image({ caption: 'x', fileLength: 98_765, mimetype: 'image/png' }));
    const c = asContent(m);
    const img = m.imageMessage!;
    expect(c.mediaType).toBe('image');
    expect(c.mediaMimetype).toBe('image/png');
    expect(c.mediaUrl).toBe(img.url);
    expect(c.mediaSize).toBe(98_765);
    expect(c.mediaFilename).toBeNull();
    expect(c.media).toEqual({
      directPath: img.directPath,
      url: img.url,
      mediaKey: Buffer.from(img.mediaKey!).toString('base64'),
      fileEncSha256: Buffer.from(img.fileEncSha256!).toString('base64'),
      fileSha256: Buffer.from(img.fileSha256!).toString('base64'),
      fileLength: 98_765,
    });
  });

  it('has no MediaRef when WhatsApp sent no reference, and none for non-media', () => {
    expect(asContent(P(content.video({ bare: true }))).media).toBeNull();
    expect(asContent(P(content.video({ bare: true }))).mediaSize).toBe(12_345);
    const text = asContent(P(content.text('x')));
    expect(text).toMatchObject({ mediaType: null, mediaUrl: null, mediaMimetype: null, mediaFilename: null, mediaSize: null, media: null });
  });
});

describe('classifyContent: references', () => {
  it.each([
    ['quote on text', content.extendedText('yes', 'QUOTED1'), 'QUOTED1'],
    ['quote on image', content.image({ caption: 'this', quotedId: 'QUOTED2' }), 'QUOTED2'],
    ['reaction target', content.reaction('TARGET9', '❤️'), 'TARGET9'],
    ['plain text', content.text('x'), null],
  ] as const)('%s', (_name, m, ref) => {
    expect(asContent(P(m)).refMessageId).toBe(ref);
  });
});

describe('classifyContent: protocol messages', () => {
  it('REVOKE targets protocolMessage.key.id', () => {
    expect(classifyContent(P(content.revoke('GONE1')))).toEqual({ kind: 'revoke', targetId: 'GONE1' });
  });

  it('MESSAGE_EDIT (wrapped, as sent) targets the edited id with the new body', () => {
    expect(classifyContent(P(content.edit('E1', content.text('fixed'), 1_700_000_000_500)))).toEqual({
      kind: 'edit',
      targetId: 'E1',
      body: 'fixed',
      timestampMs: 1_700_000_000_500,
    });
  });

  it('MESSAGE_EDIT of a caption, bare protocolMessage, no timestamp', () => {
    const bare = content.edit('E2', content.image({ caption: 'new caption' })).editedMessage!.message!;
    expect(classifyContent(P(bare))).toEqual({ kind: 'edit', targetId: 'E2', body: 'new caption', timestampMs: null });
  });

  it('REVOKE without a target is skipped', () => {
    expect(classifyContent(P({ protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE } }))).toEqual({
      kind: 'skip',
      reason: 'protocol_missing_target',
    });
  });
});

describe('classifyContent: skips', () => {
  it.each([
    ['null', null, 'no_content'],
    ['undefined', undefined, 'no_content'],
    ['empty message', {}, 'no_content'],
    ['history sync notification', content.historyNotification(), 'protocol_message'],
    [
      'ephemeral setting',
      { protocolMessage: { type: proto.Message.ProtocolMessage.Type.EPHEMERAL_SETTING, ephemeralExpiration: 86400 } },
      'protocol_message',
    ],
    ['sender key distribution', content.keyDistribution(), 'key_distribution'],
    ['messageContextInfo only', { messageContextInfo: { deviceListMetadataVersion: 2 } }, 'key_distribution'],
    ['poll vote', content.pollVote('P1'), 'poll_update'],
    ['keep in chat', content.keepInChat('K1'), 'keep_in_chat'],
    ['pin', content.pin('K1'), 'pin_in_chat'],
    ['call offer only', { call: { callKey: new Uint8Array([1]) } }, 'no_content'],
  ] as const)('%s → %s', (_name, m, reason) => {
    expect(classifyContent(m === null || m === undefined ? m : P(m))).toEqual({ kind: 'skip', reason });
  });

  it('content next to key distribution is still content', () => {
    const m = P({ ...content.keyDistribution(), ...content.text('first message in group') });
    expect(asContent(m)).toMatchObject({ messageType: 'text', body: 'first message in group' });
  });

  it('hand-built objects listing absent fields as null still classify', () => {
    const m = { conversation: null, imageMessage: { caption: 'c' } } as proto.IMessage;
    expect(asContent(m)).toMatchObject({ messageType: 'image', body: 'c' });
  });
});

describe('classifyContent: fast-ratchet key distribution', () => {
  const fr = { fastRatchetKeySenderKeyDistributionMessage: { groupId: 'g', axolotlSenderKeyDistributionMessage: new Uint8Array([1, 2]) } };
  it('alone is key distribution; with a sticker it is the sticker', () => {
    expect(classifyContent(P(fr))).toEqual({ kind: 'skip', reason: 'key_distribution' });
    expect(asContent(P({ ...fr, ...content.sticker() }))).toMatchObject({ messageType: 'sticker' });
  });
});
