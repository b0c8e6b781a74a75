import { describe, expect, it } from 'vitest';
import { accountIdFitsThreadIds, isThreadOf, threadIdOf } from '../../src/domain/thread-id.js';

const JIDS = ['40711111111@s.whatsapp.net', '123456789@lid', '1203630@g.us', 'a__b@s.whatsapp.net'];
const ACCOUNTS = ['acc', 'acc-2', 'account_prod_1f2e3d', 'a.b'];

describe('thread ids', () => {
  it('the runbook format: {accountId}__{clientJid}', () => {
    expect(threadIdOf('account_prod_1', '40711111111@s.whatsapp.net')).toBe('account_prod_1__40711111111@s.whatsapp.net');
  });

  it('a thread id belongs to its own account and to no other valid account id', () => {
    for (const owner of ACCOUNTS) {
      for (const jid of JIDS) {
        const id = threadIdOf(owner, jid);
        for (const other of ACCOUNTS) expect(isThreadOf(other, id)).toBe(other === owner);
      }
    }
  });

  it.each([
    ['acc', true],
    ['acc_1', true],
    ['a__b', false],
    ['acc_', false],
  ])('account id %s keeps thread ids unambiguous: %s', (id, fits) => {
    expect(accountIdFitsThreadIds(id)).toBe(fits);
  });

  it('an account id that ends in "_" would make another account own its threads: that is why it is refused', () => {
    expect(accountIdFitsThreadIds('a_')).toBe(false);
    expect(isThreadOf('a', threadIdOf('a_', 'x@lid'))).toBe(true);
  });
});
