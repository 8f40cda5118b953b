// musicgen studio, practice tools: tempo, loops of a part or bars, count-in, transposition,
// "written for" a transposing instrument, bar selection in the score, and variations.
// Loaded before studio.js; it uses that file's $, api, say, engrave and showCheck.
"use strict";

const WRITTEN_FOR = {C: 0, Bb: 2, Eb: 9, F: 7};  // semitones such an instrument reads up

function writtenFor() { return document.getElementById("written-for").value; }

// What the server plays: the card's tempo, count-in and loop choice (a part or bars).
function practiceBody(card) {
  const body = {speed: Number($(".tempo", card).value) / 100,
    count_in: document.getElementById("count-in").checked};
  const loop = $(".loop", card).value;
  if (loop === "bars") body.bars = barSpan(card);
  else if (loop.startsWith("part:")) body.part = loop.slice(5);
  return body;
}

function barSpan(card) {
  const from = parseInt($(".from", card).value, 10) || 1;
  const to = parseInt($(".to", card).value, 10) || from;
  return [Math.min(from, to), Math.max(from, to)];
}

// The tune as shown (moved for the instrument) with its bars and parts, from /api/layout.
async function refreshLayout(card) {
  const text = $(".abc", card).value;
  const shift = WRITTEN_FOR[writtenFor()];
  try {
    const layout = await (await api("/api/layout", {abc: text, transpose: shift})).json();
    if ($(".abc", card).value !== text) return;  // edited meanwhile: a newer call follows
    card.layout = layout;
    if (shift) drawScore(card, layout.abc);
    fillParts(card, layout.parts);
    markSelected(card);
  } catch (error) { card.layout = null; }
  const query = new URLSearchParams({abc: text, for: writtenFor()});
  $(".print", card).href = `/print?${query}`;
}

function fillParts(card, parts) {
  const select = $(".loop", card);
  const chosen = select.value;
  select.querySelectorAll("option[value^='part:']").forEach((o) => o.remove());
  for (const [label, [first, last]] of Object.entries(parts)) {
    const option = new Option(`part ${label} (bars ${first}–${last})`, `part:${label}`);
    select.insertBefore(option, select.lastElementChild);
  }
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
}

// A click on a note picks a bar: the first click starts the range, the second ends it.
function pickBar(card, abcelem) {
  if (!card.layout || abcelem.startChar === undefined) return;
  const bar = card.layout.bars.find((b) => abcelem.startChar < b.end);
  if (!bar) return;
  if (card.picking) { $(".to", card).value = bar.n; card.picking = false; }
  else { $(".from", card).value = bar.n; $(".to", card).value = bar.n; card.picking = true; }
  $(".loop", card).value = "bars";
  markSelected(card);
}

// Colour the notes of the chosen bars (when the loop is "bars").
function markSelected(card) {
  card.querySelectorAll(".score .selected").forEach((el) => el.classList.remove("selected"));
  if (!card.layout || !card.visual || $(".loop", card).value !== "bars") return;
  const [first, last] = barSpan(card);
  const bars = card.layout.bars.filter((b) => b.n >= first && b.n <= last);
  if (!bars.length) return;
  const start = bars[0].start, end = bars[bars.length - 1].end;
  for (const line of card.visual.lines || []) {
    for (const staff of line.staff || []) {
      for (const voice of staff.voices || []) {
        for (const element of voice) {
          if (element.startChar >= start && element.endChar <= end && element.abselem) {
            element.abselem.elemset.forEach((el) => el.classList.add("selected"));
          }
        }
      }
    }
  }
  card.dataset.selected = `${first}-${last}`;
}

async function transposeCard(card) {
  const input = $(".transpose", card);
  const wanted = parseInt(input.value, 10) || 0;
  const delta = wanted - (card.transposed || 0);
  if (!delta) return;
  try {
    const answer = await (await api("/api/transpose", {abc: $(".abc", card).value, semitones: delta})).json();
    $(".abc", card).value = answer.abc;
    card.transposed = wanted;
    engrave(card);
    showCheck(card, await (await api("/api/check", {abc: answer.abc})).json());
    say(`transposed ${wanted > 0 ? "+" : ""}${wanted} semitones`);
  } catch (error) { input.value = card.transposed || 0; say(error.message, true); }
}

async function varyCard(card) {
  const [first, last] = barSpan(card);
  const request = formData();
  const box = $(".variants", card);
  box.replaceChildren();
  say(`varying bars ${first}–${last}…`);
  try {
    const answer = await (await api("/api/vary", {
      abc: $(".abc", card).value, first, last,
      seed: request.seed, temperature: request.temperature, top_k: request.top_k,
    })).json();
    answer.variants.forEach((variant, i) => box.appendChild(variantCard(card, variant, i)));
    say(answer.variants.length ? `${answer.variants.length} variation(s)` : "no valid variation: try another seed");
  } catch (error) { say(error.message, true); }
}

function variantCard(card, variant, index) {
  const box = document.createElement("div");
  box.className = "variant";
  box.innerHTML = `<div class="bar"><button class="play-variant">Play</button>
    <button class="use">Use this</button><span class="check"></span></div>
    <audio preload="none"></audio><div class="variant-score"></div>`;
  $(".check", box).textContent = `#${index + 1} · ${variant.check.bars} bars` +
    " · rest of tune kept";
  ABCJS.renderAbc($(".variant-score", box), variant.abc, {responsive: "resize"});
  $(".play-variant", box).addEventListener("click", async () => {
    try {
      const response = await api("/api/render/wav", {abc: variant.abc, speed: practiceBody(card).speed});
      const audio = $("audio", box);
      audio.src = URL.createObjectURL(await response.blob());
      await audio.play();
      box.dataset.playing = "1";
    } catch (error) { say(error.message, true); }
  });
  $(".use", box).addEventListener("click", () => {
    $(".abc", card).value = variant.abc;
    engrave(card);
    showCheck(card, variant.check);
    $(".variants", card).replaceChildren();
    say("variation used");
  });
  return box;
}

function wirePractice(card) {
  const tempo = $(".tempo", card);
  tempo.addEventListener("input", () => { $(".tempo-shown", card).textContent = `${tempo.value}%`; });
  $(".loop", card).addEventListener("change", () => markSelected(card));
  for (const cls of [".from", ".to"]) $(cls, card).addEventListener("change", () => markSelected(card));
  $(".transpose", card).addEventListener("change", () => transposeCard(card));
  $(".vary", card).addEventListener("click", () => varyCard(card));
}
