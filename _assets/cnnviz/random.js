// The random numbers of vizlib, drawn as in Python. First the jitter of the class model:
// torch.Generator().manual_seed(seed) is a 32-bit Mersenne
// Twister (MT19937, Matsumoto and Nishimura 1998) seeded with init_genrand(seed), and
// torch.randint(low, high, ...) on the CPU returns low + (next32() % (high - low)) for ranges
// below 2^32. With the same seed the page draws the same shifts as vizlib.synthesis.jitter.
(function (lib) {
  "use strict";

  class MersenneTwister {
    constructor(seed) {
      this.state = new Uint32Array(624);
      this.state[0] = seed >>> 0;
      for (let i = 1; i < 624; i++) {
        const prev = this.state[i - 1] ^ (this.state[i - 1] >>> 30);
        // 1812433253 * prev + i, modulo 2^32, without losing bits to floating point
        this.state[i] = (((((prev & 0xffff0000) >>> 16) * 1812433253) << 16) + (prev & 0x0000ffff) * 1812433253 + i) >>> 0;
      }
      this.index = 624;
    }

    /** The next 32-bit unsigned integer. */
    next() {
      const s = this.state;
      if (this.index >= 624) {
        for (let k = 0; k < 624; k++) {
          const y = (s[k] & 0x80000000) | (s[(k + 1) % 624] & 0x7fffffff);
          s[k] = s[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
        }
        this.index = 0;
      }
      let y = s[this.index++];
      y ^= y >>> 11;
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= y >>> 18;
      return y >>> 0;
    }

    /** An integer in [low, high), as torch.randint draws it. */
    randint(low, high) {
      return low + (this.next() % (high - low));
    }
  }

  lib.MersenneTwister = MersenneTwister;

  // ---------------------------------------------------------------------------------- numpy
  // The random numbers of vizlib.data.toy_world: numpy.random.default_rng(entropy) is a PCG64
  // generator (O'Neill 2014; XSL-RR output, 128-bit state) seeded by a SeedSequence (numpy's
  // hash of the entropy words into a pool of four 32-bit words). Generator.random() and
  // uniform(low, high) use 53 bits of one 64-bit draw: low + (high - low) * ((u64 >> 11) / 2^53);
  // Generator.integers(low, high) for high - low < 2^32 uses Lemire's multiply-and-shift on a
  // 32-bit draw, which PCG64 takes from halves of a 64-bit one (low half first, the high half kept
  // for the next 32-bit request). 128-bit arithmetic in BigInt.
  const M32 = 0xffffffff;
  const mul32 = (a, b) => Math.imul(a, b) >>> 0;

  /** numpy's SeedSequence(entropy).generate_state(nWords, uint32) for entropy given as 32-bit words. */
  function seedSequenceState(entropy, nWords) {
    const XSHIFT = 16;
    let hashA = 0x43b0d7e5;
    const hashmix = (value) => {
      value = (value ^ hashA) >>> 0;
      hashA = mul32(hashA, 0x931e8875);
      value = mul32(value, hashA);
      return (value ^ (value >>> XSHIFT)) >>> 0;
    };
    const mix = (x, y) => {
      const r = (mul32(0xca01f9dd, x) - mul32(0x4973f715, y)) >>> 0;
      return (r ^ (r >>> XSHIFT)) >>> 0;
    };
    const pool = new Uint32Array(4);
    for (let i = 0; i < 4; i++) pool[i] = hashmix(i < entropy.length ? entropy[i] : 0);
    for (let src = 0; src < 4; src++) {
      for (let dst = 0; dst < 4; dst++) if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
    }
    for (let src = 4; src < entropy.length; src++) {
      for (let dst = 0; dst < 4; dst++) pool[dst] = mix(pool[dst], hashmix(entropy[src]));
    }
    let hashB = 0x8b51f9dd;
    const out = new Uint32Array(nWords);
    for (let i = 0; i < nWords; i++) {
      let v = (pool[i % 4] ^ hashB) >>> 0;
      hashB = mul32(hashB, 0x58f38ded);
      v = mul32(v, hashB);
      out[i] = (v ^ (v >>> XSHIFT)) >>> 0;
    }
    return out;
  }

  /** A non-negative integer as numpy's SeedSequence reads it: 32-bit words, least significant first. */
  function intToWords(n) {
    if (n === 0) return [0];
    const words = [];
    for (let v = BigInt(n); v > 0n; v >>= 32n) words.push(Number(v & 0xffffffffn));
    return words;
  }

  const MASK64 = (1n << 64n) - 1n, MASK128 = (1n << 128n) - 1n;
  const PCG_MULTIPLIER = (0x2360ed051fc65da4n << 64n) | 0x4385df649fccf645n;

  class PCG64 {
    /** @param entropy the seed as numpy's default_rng takes it: a non-negative integer or an array of them. */
    constructor(entropy) {
      const words = [].concat(entropy).flatMap(intToWords);
      const s = seedSequenceState(words, 8); // generate_state(4, uint64): pairs of words, low word first
      const u64 = (i) => (BigInt(s[2 * i + 1]) << 32n) | BigInt(s[2 * i]);
      const initState = (u64(0) << 64n) | u64(1), initSeq = (u64(2) << 64n) | u64(3);
      this.inc = ((initSeq << 1n) | 1n) & MASK128;
      this.state = 0n;
      this.step();
      this.state = (this.state + initState) & MASK128;
      this.step();
      this.buffered = null; // the high half of a 64-bit draw, kept for the next 32-bit request
    }

    step() {
      this.state = (this.state * PCG_MULTIPLIER + this.inc) & MASK128;
    }

    /** The next 64-bit output (BigInt): XSL-RR of the advanced state. */
    nextUint64() {
      this.step();
      const rot = this.state >> 122n;
      const x = ((this.state >> 64n) ^ this.state) & MASK64;
      return ((x >> rot) | (x << ((64n - rot) & 63n))) & MASK64;
    }

    nextUint32() {
      if (this.buffered !== null) {
        const out = this.buffered;
        this.buffered = null;
        return out;
      }
      const x = this.nextUint64();
      this.buffered = Number(x >> 32n);
      return Number(x & 0xffffffffn);
    }

    /** Generator.random(): a double in [0, 1) with 53 random bits. */
    random() {
      return Number(this.nextUint64() >> 11n) / 9007199254740992;
    }

    /** Generator.uniform(low, high). */
    uniform(low = 0, high = 1) {
      return low + (high - low) * this.random();
    }

    /** Generator.integers(low, high) (high exclusive) for high - low in [1, 2^32). */
    integers(low, high) {
      const range = high - low - 1; // numpy's rng: the largest offset
      if (!(range >= 0 && range < M32)) throw new RangeError(`integers: high - low must be in [1, 2^32); got ${high - low}`);
      if (range === 0) return low;
      const excl = range + 1;
      const draw = () => BigInt(this.nextUint32()) * BigInt(excl);
      let m = draw(), leftover = Number(m & 0xffffffffn);
      if (leftover < excl) {
        const threshold = (M32 - range) % excl;
        while (leftover < threshold) {
          m = draw();
          leftover = Number(m & 0xffffffffn);
        }
      }
      return low + Number(m >> 32n);
    }
  }

  /** numpy.random.default_rng(entropy). */
  lib.defaultRng = (entropy) => new PCG64(entropy);
  lib.PCG64 = PCG64;
  lib.seedSequenceState = seedSequenceState;
})(window.cnnvizLib = window.cnnvizLib || {});
