import { closeSync, openSync, readSync } from 'node:fs';
import { internal } from '@ctr/errors';

/**
 * Container names and IDs as Docker makes them: a 64-hex ID, and when no name is given a
 * random `adjective_surname` (surnames of scientists and engineers, like Docker's list).
 */

const adjectives = [
  'admiring', 'adoring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful', 'blissful',
  'bold', 'boring', 'brave', 'busy', 'charming', 'clever', 'compassionate', 'competent', 'condescending',
  'confident', 'cool', 'cranky', 'crazy', 'dazzling', 'determined', 'distracted', 'dreamy', 'eager',
  'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent', 'epic', 'exciting', 'fervent', 'festive',
  'flamboyant', 'focused', 'friendly', 'frosty', 'funny', 'gallant', 'gifted', 'goofy', 'gracious',
  'great', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry', 'infallible', 'inspiring', 'intelligent',
  'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical', 'modest',
  'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective', 'optimistic',
  'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical', 'recursing',
  'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange',
  'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant',
  'vigilant', 'vigorous', 'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
];

const surnames = [
  'agnesi', 'albattani', 'allen', 'almeida', 'archimedes', 'ardinghelli', 'aryabhata', 'austin', 'babbage',
  'banach', 'bardeen', 'bartik', 'bassi', 'bell', 'benz', 'bhabha', 'blackwell', 'bohr', 'booth', 'borg',
  'bose', 'boyd', 'brahmagupta', 'brattain', 'brown', 'carson', 'cerf', 'chandrasekhar', 'chaplygin',
  'clarke', 'colden', 'cori', 'cray', 'curie', 'darwin', 'davinci', 'dijkstra', 'dubinsky', 'easley',
  'edison', 'einstein', 'elion', 'engelbart', 'euclid', 'euler', 'faraday', 'feistel', 'fermat', 'fermi',
  'feynman', 'franklin', 'galileo', 'gauss', 'goldberg', 'goodall', 'gould', 'hamilton', 'hawking',
  'heisenberg', 'hermann', 'hertz', 'hodgkin', 'hofstadter', 'hopper', 'hypatia', 'jackson', 'jemison',
  'jennings', 'johnson', 'joliot', 'kalam', 'keller', 'kepler', 'khorana', 'kilby', 'knuth', 'kowalevski',
  'lalande', 'lamarr', 'lamport', 'leakey', 'leavitt', 'lovelace', 'lumiere', 'mayer', 'mccarthy',
  'mcclintock', 'meitner', 'mendel', 'mestorf', 'minsky', 'mirzakhani', 'morse', 'napier', 'newton',
  'nobel', 'noether', 'pare', 'pascal', 'pasteur', 'payne', 'perlman', 'pike', 'poincare', 'ptolemy',
  'raman', 'ramanujan', 'ride', 'ritchie', 'rosalind', 'sammet', 'shannon', 'shockley', 'sinoussi',
  'stallman', 'swanson', 'tesla', 'thompson', 'torvalds', 'turing', 'varahamihira', 'volhard', 'wescoff',
  'wiles', 'williams', 'wilson', 'wing', 'wozniak', 'wright', 'yalow', 'yonath',
];

export function randomName(retry = 0): string {
  const name = `${adjectives[randomInt(adjectives.length)]}_${surnames[randomInt(surnames.length)]}`;
  // Docker's one exception, kept: Steve Wozniak is not boring.
  if (name === 'boring_wozniak') return randomName(retry);
  // A retry after a clash adds a digit, as Docker's name generator does.
  return retry > 0 ? `${name}${randomInt(10)}` : name;
}

/** A container or exec ID: 64 random hex characters. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Bytes from the kernel's random source, read directly. node:crypto reads the same source,
 * but loading it costs a `ctr run` about 3 ms of its start, and nothing else there needs it.
 */
function randomBytes(count: number): Buffer {
  const bytes = Buffer.alloc(count);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let done = 0; done < count; ) {
      const got = readSync(fd, bytes, done, count - done, null);
      if (got === 0) throw internal('/dev/urandom ended: no random bytes for an ID');
      done += got;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** 0 to below `bound` (a few hundred at most: the bias of the remainder is under one in ten million). */
function randomInt(bound: number): number {
  return randomBytes(4).readUInt32BE(0) % bound;
}

const validName = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function isValidContainerName(name: string): boolean {
  return validName.test(name);
}
