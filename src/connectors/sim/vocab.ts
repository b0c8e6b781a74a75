/** Word lists for generated conversations: enough variety that lists and previews look lived-in. */

// biome-ignore format: word lists read better packed
export const FIRST_NAMES = [
  'Ana', 'Ben', 'Carla', 'David', 'Elena', 'Farid', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kofi', 'Lena',
  'Mateo', 'Nadia', 'Omar', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tara', 'Umar', 'Vera', 'Wei', 'Ximena',
  'Yusuf', 'Zoe', 'Andrei', 'Bianca', 'Chen', 'Dara', 'Emil', 'Fatima', 'Goran', 'Hana', 'Ivan', 'Jade',
  'Kai', 'Lucia', 'Mihai', 'Noor', 'Olga', 'Pedro', 'Rahul', 'Sara', 'Tomas', 'Yara',
] as const;

// biome-ignore format: word lists read better packed
export const LAST_NAMES = [
  'Popescu', 'Schmidt', 'Garcia', 'Rossi', 'Novak', 'Silva', 'Kowalski', 'Dubois', 'Jensen', 'Okafor',
  'Haddad', 'Tanaka', 'Nguyen', 'Kim', 'Ionescu', 'Moreau', 'Costa', 'Fischer', 'Larsen', 'Petrov',
  'Mendes', 'Ahmed', 'Ozturk', 'Varga', 'Horvat', 'Murphy', 'Patel', 'Cohen', 'Berg', 'Santos',
] as const;

export const NICKNAMES = ['🌻', 'mom', 'the boss', '✈️', 'work phone', '🏃', 'coach', '⭐', 'doc', '🎸'] as const;

/** Country calling codes and the subscriber-number length used after them. */
// biome-ignore format: word lists read better packed
export const COUNTRY_CODES: ReadonlyArray<readonly [string, number]> = [
  ['40', 9],
  ['44', 10],
  ['49', 10],
  ['33', 9],
  ['34', 9],
  ['39', 10],
  ['1', 10],
  ['55', 11],
  ['91', 10],
  ['234', 10],
  ['62', 10],
  ['52', 10],
];

export const GREETINGS = ['hey', 'hi', 'hello', 'morning!', 'yo', 'good evening', 'hey hey', 'salut', 'hola'] as const;

// biome-ignore format: word lists read better packed
export const SENTENCES = [
  'are we still on for tomorrow?',
  'running 10 minutes late, sorry',
  'did you see the email from Maria?',
  'can you send me the address again',
  'thanks, that helps a lot',
  'I will call you after the meeting',
  'the invoice is attached',
  'let me check and get back to you',
  'happy birthday!! 🎉',
  'see you at the station',
  'ok perfect',
  'what time does it start?',
  'just landed',
  'the package arrived today',
  'can we move it to Thursday?',
  'lol yes',
  'I left the keys at reception',
  'sounds good to me',
  'who is bringing the cake?',
  'the train is delayed again',
  'please confirm the booking',
  'I sent the photos to the group',
  'that was fun, we should do it again',
  'traffic is terrible today',
  'on my way',
  'do you have the wifi password?',
  'meeting moved to 3pm',
  'great job on the presentation 👏',
  'I am out of office until Monday',
  'no worries',
] as const;

export const EMOJI = ['😂', '👍', '❤️', '🙏', '😊', '🔥', '🎉', '😅', '👌', '🤔'] as const;

// biome-ignore format: word lists read better packed
export const LINKS = [
  ['https://example.com/blog/summer-plans', 'Summer plans', 'Ten ideas for the long weekend'],
  ['https://news.example.org/2024/transport-strike', 'Transport strike on Friday', 'What to expect'],
  ['https://shop.example.net/item/48213', 'Hiking boots - 30% off', 'Free shipping this week'],
  ['https://maps.example.com/place/cafe-central', 'Cafe Central', 'Open until 22:00'],
] as const;

// biome-ignore format: word lists read better packed
export const GROUP_SUBJECTS = [
  'Family 🏡', 'Football Thursday ⚽', 'Book club', 'Team standup', 'Apartment 4B', 'Trip to Lisbon ✈️',
  'Parents of class 3A', 'Climbing crew', 'Wedding planning 💍', 'Neighbours', 'Project Falcon', 'Running club',
] as const;

// biome-ignore format: word lists read better packed
export const DOCUMENTS: ReadonlyArray<readonly [string, string]> = [
  ['invoice-2024-031.pdf', 'application/pdf'],
  ['contract_v3.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  ['budget.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  ['boarding-pass.pdf', 'application/pdf'],
  ['slides-final.pptx', 'application/vnd.openxmlformats-officedocument.presentationml.presentation'],
  ['notes.txt', 'text/plain'],
  ['photos.zip', 'application/zip'],
];

// biome-ignore format: word lists read better packed
export const CAPTIONS = [
  'look at this', 'view from the hotel', 'for tomorrow', 'as promised', 'the new office', 'dinner 😋',
  'signed copy', 'here you go', 'before / after', 'the kids today',
] as const;

// biome-ignore format: word lists read better packed
export const PLACES: ReadonlyArray<readonly [string, number, number]> = [
  ['Central Station', 52.3791, 4.9003],
  ['Piata Unirii', 44.4268, 26.1025],
  ['Plaza Mayor', 40.4155, -3.7074],
  ['Alexanderplatz', 52.5219, 13.4132],
  ['Brick Lane', 51.5219, -0.0718],
];
