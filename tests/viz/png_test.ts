import assert from "node:assert/strict";
import { Rng } from "../../tensor/random.ts";
import { crc32, decodePng, encodePng, type Raster } from "../../viz/png.ts";
import { drawText, pixel, textWidth } from "../../viz/draw.ts";
import { createRaster } from "../../viz/png.ts";
import { glyph, hasGlyph } from "../../viz/font.ts";

function randomRaster(width: number, height: number, channels: 3 | 4, seed: number): Raster {
  const rng = new Rng(seed);
  const data = new Uint8Array(width * height * channels);
  // Smooth gradients plus noise, so that every PNG filter type gets chosen somewhere.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const smooth = (x * 3 + y * (c + 1) * 2) & 0xff;
        data[(y * width + x) * channels + c] = y % 7 === 0 ? Math.floor(rng.uniformIn(0, 256)) : smooth;
      }
    }
  }
  return { width, height, channels, data };
}

Deno.test("PNG round trip is lossless for RGB and RGBA of odd sizes", async () => {
  for (const [w, h, ch] of [[1, 1, 3], [17, 9, 3], [33, 20, 4], [5, 64, 4]] as const) {
    const r = randomRaster(w, h, ch, w * h);
    const back = await decodePng(await encodePng(r));
    assert.deepEqual([back.width, back.height, back.channels], [w, h, ch]);
    assert.deepEqual(back.data, r.data);
  }
});

Deno.test("PNG chunks carry valid CRCs and the IHDR says 8-bit RGB", async () => {
  const png = await encodePng(createRaster(4, 3, [1, 2, 3]));
  const view = new DataView(png.buffer);
  assert.equal(String.fromCharCode(...png.subarray(12, 16)), "IHDR");
  assert.deepEqual([view.getUint32(16), view.getUint32(20), png[24], png[25]], [4, 3, 8, 2]);
  assert.equal(view.getUint32(29), crc32(png.subarray(12, 29)));
});

Deno.test("decodePng rejects a corrupted chunk and a non-PNG", async () => {
  const png = await encodePng(createRaster(4, 3, [1, 2, 3]));
  png[40] ^= 0xff;
  await assert.rejects(decodePng(png), /CRC mismatch/);
  await assert.rejects(decodePng(new Uint8Array(20)), /not a PNG/);
});

Deno.test("bitmap text has the advertised width and draws ink only inside it", () => {
  const r = createRaster(80, 12);
  const end = drawText(r, 2, 2, "Dice 0.5", [255, 255, 255], 1);
  assert.equal(end - 2, textWidth("Dice 0.5") + 1);
  let inkRight = 0;
  for (let y = 0; y < 12; y++) for (let x = 0; x < 80; x++) if (pixel(r, x, y)[0]) inkRight = Math.max(inkRight, x);
  assert.ok(inkRight < 2 + textWidth("Dice 0.5") && inkRight > 2 + textWidth("Dice 0.") - 6);
});

Deno.test("the font covers digits, both letter cases and the punctuation of titles", () => {
  const needed = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:;-+=()[]/%±×'\"!?_#<>|*&@·";
  assert.deepEqual([...needed].filter((c) => !hasGlyph(c)), []);
  assert.equal(glyph("A").length, 5 * 8);
});
