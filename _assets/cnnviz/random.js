// The random numbers of vizlib's jitter: torch.Generator().manual_seed(seed) is a 32-bit Mersenne
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
})(window.cnnvizLib = window.cnnvizLib || {});
