"""genlist.py PATH SHIFT: 50,000 distinct /24 networks from 11.0.0.0 on, plus 10.89.92.22.

SHIFT = 0 for the first list; SHIFT = 1 replaces 1% of the networks (every 100th one) by
networks from 12.0.0.0 on, for the swap test. Written through a temporary file and a rename."""
import os
import sys

path, shift = sys.argv[1], int(sys.argv[2])
lines = ['# rampart molecule/ipset block list', '10.89.92.22']
for i in range(50000):
    if shift and i % 100 == 0:
        n = (12 << 24) + (i // 100 << 8)
    else:
        n = (11 << 24) + (i << 8)
    lines.append('%d.%d.%d.%d/24' % (n >> 24, n >> 16 & 255, n >> 8 & 255, n & 255))
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path + '.tmp', 'w') as handle:
    handle.write('\n'.join(lines) + '\n')
os.rename(path + '.tmp', path)
