import { describe, expect, it } from 'vitest';
import type { Mutation } from '../../src/domain/mutations.js';
import { applyJidMappings, canonicalJid, LearningResolver, mapResolver, normalizeJid } from '../../src/ingest/jids.js';

describe('normalizeJid', () => {
  it.each([
    ['40712345678@s.whatsapp.net', '40712345678@s.whatsapp.net'],
    ['40712345678:12@s.whatsapp.net', '40712345678@s.whatsapp.net'],
    ['40712345678@c.us', '40712345678@s.whatsapp.net'],
    ['123456789012345:3@lid', '123456789012345@lid'],
    ['40712345678@hosted', '40712345678@s.whatsapp.net'],
    ['123456789012345:99@hosted.lid', '123456789012345@lid'],
    ['120363000000000001@g.us', '120363000000000001@g.us'],
    ['status@broadcast', 'status@broadcast'],
    ['120363000000000009@newsletter', '120363000000000009@newsletter'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeJid(input)).toBe(expected);
  });

  it('returns the very same string when nothing changes (no allocation on the hot path)', () => {
    const jid = ['4071', '2345678@s.whatsapp.net'].join('');
    expect(normalizeJid(jid)).toBe(jid);
  });
});

describe('canonicalJid', () => {
  const resolver = mapResolver(new Map([['111@lid', '40711111111@s.whatsapp.net']]));
  it.each([
    ['known LID → PN', '111@lid', '40711111111@s.whatsapp.net'],
    ['known LID with device → PN', '111:5@lid', '40711111111@s.whatsapp.net'],
    ['unknown LID stays', '222@lid', '222@lid'],
    ['PN with device', '40722222222:7@s.whatsapp.net', '40722222222@s.whatsapp.net'],
    ['group is itself', '120363000000000001@g.us', '120363000000000001@g.us'],
  ])('%s', (_name, input, expected) => {
    expect(canonicalJid(input, resolver)).toBe(expected);
  });
});

describe('LearningResolver', () => {
  it('emits each new pair once, normalised, and resolves it immediately', () => {
    const r = new LearningResolver(mapResolver(new Map()), 'acc');
    r.learnPair('333:2@lid', '40733333333:4@s.whatsapp.net');
    r.learnPair('40733333333@s.whatsapp.net', '333@lid'); // same pair, other order
    expect(r.pnForLid('333@lid')).toBe('40733333333@s.whatsapp.net');
    expect(r.mappings).toEqual([{ kind: 'jid-mapping', accountId: 'acc', lid: '333@lid', pn: '40733333333@s.whatsapp.net' }]);
  });

  it('emits nothing for a pair the base already knows, and emits a changed pairing', () => {
    const r = new LearningResolver(mapResolver(new Map([['444@lid', '40744444444@s.whatsapp.net']])), 'acc');
    r.learn('444@lid', '40744444444@s.whatsapp.net');
    expect(r.mappings).toEqual([]);
    r.learn('444@lid', '40755555555@s.whatsapp.net');
    expect(r.mappings).toHaveLength(1);
  });

  it.each([
    ['two PNs', '40711111111@s.whatsapp.net', '40722222222@s.whatsapp.net'],
    ['two LIDs', '1@lid', '2@lid'],
    ['group', '120363000000000001@g.us', '1@lid'],
    ['empty', '', '1@lid'],
  ])('ignores malformed pairs: %s', (_name, a, b) => {
    const r = new LearningResolver(mapResolver(new Map()), 'acc');
    r.learnPair(a, b);
    r.learn(a, b);
    expect(r.mappings).toEqual([]);
  });

  it('refuses pairs linking someone else to our own JIDs, accepts our own pair', () => {
    const own = new Set(['40700000001@s.whatsapp.net', '900@lid']);
    const r = new LearningResolver(mapResolver(new Map()), 'acc', own);
    r.learn('555@lid', '40700000001@s.whatsapp.net');
    r.learn('900@lid', '40766666666@s.whatsapp.net');
    expect(r.mappings).toEqual([]);
    r.learn('900@lid', '40700000001@s.whatsapp.net');
    expect(r.mappings).toHaveLength(1);
  });
});

describe('applyJidMappings', () => {
  it('applies jid-mapping mutations to the caller map and counts changes', () => {
    const map = new Map<string, string>([['1@lid', '401@s.whatsapp.net']]);
    const mutations: Mutation[] = [
      { kind: 'jid-mapping', accountId: 'a', lid: '1@lid', pn: '401@s.whatsapp.net' },
      { kind: 'jid-mapping', accountId: 'a', lid: '2@lid', pn: '402@s.whatsapp.net' },
      { kind: 'revoke', accountId: 'a', clientJid: null, messageId: 'x', revokedAt: 1 },
    ];
    expect(applyJidMappings(map, mutations)).toBe(1);
    expect(map.get('2@lid')).toBe('402@s.whatsapp.net');
  });
});
