import type { CommandSpec } from '../command.js';
import { accountCommands } from './accounts.js';
import { exportCommands } from './export.js';
import { feedCommands } from './feed.js';
import { messagingCommands } from './messaging.js';
import { operationCommands } from './operations.js';
import { pairingCommands } from './pairing.js';

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  ...accountCommands,
  ...pairingCommands,
  ...messagingCommands,
  ...exportCommands,
  ...feedCommands,
  ...operationCommands,
];
