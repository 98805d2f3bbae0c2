"""Pure-Python twin of the allocation sampler's decisions (csrc/memsample.[ch]):
the splitmix64 PRNG, the exponential gap draw, and the per-allocation weight. The
native engine must agree with it bit for bit for a given seed."""
import math

MASK = (1 << 64) - 1


class Twin:
    def __init__(self, seed: int, mean: float):
        self.state = seed & MASK
        self.mean = float(mean)
        self.countdown = self.draw()

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def draw(self) -> int:
        u = (self.next() >> 11) * 2.0 ** -53
        x = math.ceil(-self.mean * math.log1p(-u))
        return max(1, min(int(x), int(9.0e18)))

    def weight(self, size: int) -> int:
        """Bytes the allocation stands for, 0 when not sampled."""
        if size >= self.mean:
            return size
        self.countdown -= size
        if self.countdown > 0:
            return 0
        k = 0
        while self.countdown <= 0:
            k += 1
            self.countdown += self.draw()
        return int(k * self.mean + 0.5)


def draws(seed: int, mean: float, n: int):
    t = Twin(seed, mean)
    t.state = seed & MASK          # the draw sequence from the seed itself
    return [t.draw() for _ in range(n)]
