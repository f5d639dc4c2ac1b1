// `autoresearch plot --out chart.png`: the progress chart rasterised, decoded here and looked at.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { renderProgressPng } from '../../lib/loop/plot';
import { packageRoot } from '../../lib/native/load';
import { syntheticRows, writeResults } from '../dashboard-fixtures';

/** An 8-bit RGBA PNG (what resvg writes) decoded to its pixels. */
function decodePng(png: Buffer): { width: number; height: number; pixels: Buffer } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let width = 0;
  let height = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect([body[8], body[9]]).toEqual([8, 6]); // 8 bits, RGBA
    } else if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(data));
  const stride = width * 4;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= 4 ? pixels[y * stride + x - 4]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= 4 && y > 0 ? pixels[(y - 1) * stride + x - 4]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter]!;
      pixels[y * stride + x] = (line[x]! + predictor) & 0xff;
    }
  }
  return { width, height, pixels };
}

function countColor(image: { pixels: Buffer }, rgb: [number, number, number], tolerance = 8): number {
  let n = 0;
  for (let i = 0; i < image.pixels.length; i += 4) {
    if (Math.abs(image.pixels[i]! - rgb[0]) <= tolerance && Math.abs(image.pixels[i + 1]! - rgb[1]) <= tolerance && Math.abs(image.pixels[i + 2]! - rgb[2]) <= tolerance) n++;
  }
  return n;
}

test('plot --out chart.png writes the chart as a PNG: its size, its marks and its text', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-png-'));
  try {
    writeResults(dir, syntheticRows(30, { seed: 11 }));
    const out = path.join(dir, 'charts', 'chart.png');
    const cli = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(packageRoot(), 'bin/autoresearch.ts'), 'plot', '--dir', dir, '--out', out], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.stderr).toBe('');
    expect(cli.stdout).toBe(`${out}: 30 experiments of tag synthetic\n`);
    const image = decodePng(fs.readFileSync(out));
    expect([image.width, image.height]).toEqual([2400, 1200]);
    // White background, green kept points and running best, dark text (title, ticks).
    expect(countColor(image, [255, 255, 255])).toBeGreaterThan(image.width * image.height * 0.7);
    expect(countColor(image, [0x2c, 0xa0, 0x2c], 20)).toBeGreaterThan(500);
    expect(countColor(image, [0, 0, 0], 60)).toBeGreaterThan(2000);
    // The same call from the API, at scale 1.
    const small = decodePng(renderProgressPng(syntheticRows(30, { seed: 11 }), { scale: 1 }));
    expect([small.width, small.height]).toEqual([1200, 600]);
    // An .svg stays an SVG.
    const svg = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(packageRoot(), 'bin/autoresearch.ts'), 'plot', '--dir', dir, '--out', path.join(dir, 'chart.svg')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(svg.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'chart.svg'), 'utf8')).toMatch(/^<svg /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
