// musicgen studio page: plain JavaScript, no build step. Talks to the JSON API under /api/.
// Scores are engraved by abcjs; sound is the server's WAV (musicgen.audio) in an <audio>
// element, with abcjs's TimingCallbacks moving a highlight over the notes in time with it,
// so nothing (no soundfont) is fetched from the network.  Practice tools: practice.js.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const statusLine = $("#status");

function say(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

async function api(path, body, method = "POST") {
  const response = await fetch(path, {
    method, headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function formData() {
  const form = $("#generate-form");
  const get = (name) => form.elements[name].value.trim();
  return {
    n: parseInt(get("n"), 10), seed: parseInt(get("seed"), 10),
    temperature: parseFloat(get("temperature")), top_k: parseInt(get("top_k"), 10),
    meter: get("meter") || null, key: get("key") || null, form: get("form") || null,
    cadence: form.elements["cadence"].checked, rhyme: get("rhyme") || null,
    primer: get("primer"),
  };
}

async function generate(event) {
  event.preventDefault();
  const request = formData();
  const bar = $("#progress");
  bar.hidden = false; bar.value = 0; bar.max = request.n;
  $("#generate").disabled = true;
  say(`generating ${request.n} tune(s)…`);
  try {
    const response = await api("/api/generate/stream", request);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 1);
        if (line.error) throw new Error(line.error);
        if (line.done !== undefined) { bar.value = line.done; say(`${line.done} of ${line.n} tunes`); }
        if (line.tunes) showTunes(line.tunes);
      }
    }
  } catch (error) {
    say(error.message, true);
  } finally {
    $("#generate").disabled = false;
    bar.hidden = true;
  }
}

function showTunes(tunes) {
  const box = $("#tunes");
  box.replaceChildren();
  tunes.forEach((tune) => box.appendChild(tuneCard(tune.abc, tune.check)));
  say(`${tunes.length} tune(s)`);
}

function showCheck(card, check) {
  const span = $(".check", card);
  if (!check) { span.textContent = ""; return; }
  const parts = [check.valid ? "valid" : "not valid", `${check.bars} bars`];
  if (check.valid) parts.push(check.bars_ok ? "full bars" : "uneven bars");
  if (check.novel !== null && check.novel !== undefined) parts.push(check.novel ? "novel" : "borrows 4+ bars");
  if (check.problems && check.problems.length) parts.push(check.problems[0]);
  span.textContent = parts.join(" · ");
  span.className = "check " + (check.valid && check.bars_ok ? "ok" : "bad");
}

// Engrave the text now (concert pitch); refreshLayout then redraws it for a transposing
// instrument and learns the bars, so that clicks on the score pick bars.
function engrave(card) {
  if (!WRITTEN_FOR[writtenFor()]) drawScore(card, $(".abc", card).value);
  refreshLayout(card);
}

function drawScore(card, text) {
  const visual = ABCJS.renderAbc($(".score", card), text, {
    add_classes: true, responsive: "resize", clickListener: (abcelem) => pickBar(card, abcelem),
  });
  card.visual = visual[0];
  card.dataset.shown = text;
}

function tuneCard(abc, check) {
  const card = $("#tune-template").content.firstElementChild.cloneNode(true);
  const text = $(".abc", card);
  text.value = abc;
  engrave(card);
  showCheck(card, check);
  let timer = null;
  text.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      engrave(card);
      try { showCheck(card, await (await api("/api/check", {abc: text.value})).json()); }
      catch (error) { say(error.message, true); }
    }, 300);
  });
  $(".play", card).addEventListener("click", () => play(card));
  $(".stop", card).addEventListener("click", () => stop(card));
  card.querySelectorAll(".dl").forEach((b) => b.addEventListener("click", () => download(card, b.dataset.fmt)));
  $(".keep", card).addEventListener("click", () => keep(card));
  $(".continue", card).addEventListener("click", () => continueTune(card));
  wirePractice(card);
  return card;
}

async function sound(card, fmt, practice = {}) {
  const response = await api(`/api/render/${fmt}`, {abc: $(".abc", card).value, ...practice});
  return {blob: await response.blob(), bpm: parseFloat(response.headers.get("X-Tempo-Bpm")),
    countIn: parseFloat(response.headers.get("X-Count-In") || "0")};
}

function highlight(card, event) {
  card.querySelectorAll(".playing").forEach((el) => el.classList.remove("playing"));
  if (event) card.dataset.cursorEvents = String(Number(card.dataset.cursorEvents || 0) + 1);
  if (event && event.elements) event.elements.flat().forEach((el) => el.classList.add("playing"));
}

// Play the server's WAV at the card's tempo: after the count-in, the whole tune with
// abcjs's cursor in step (same bpm), or a part or bars alone; looped if asked, each time
// round from the end of the count-in.
async function play(card) {
  stop(card);
  say("rendering audio…");
  try {
    const practice = practiceBody(card);
    const {blob, bpm, countIn} = await sound(card, "wav", practice);
    const audio = $(".audio", card);
    audio.src = URL.createObjectURL(blob);
    Object.assign(card.dataset, {bpm, countIn});
    const whole = !practice.bars && !practice.part;
    card.cursor = whole ? new ABCJS.TimingCallbacks(card.visual, {
      qpm: bpm, eventCallback: (event) => highlight(card, event),
    }) : null;
    const startCursor = (delay) => {
      if (card.cursor) card.timer = setTimeout(() => card.cursor.start(0), delay * 1000);
    };
    audio.onended = () => {
      if (!$(".looping", card).checked) { stop(card); return; }
      card.dataset.loops = String(Number(card.dataset.loops || 0) + 1);
      audio.currentTime = countIn;
      audio.play();
      startCursor(0);
    };
    await audio.play();
    startCursor(countIn);
    card.dataset.playing = "1";
    say(`playing at ${Math.round(bpm)} bpm`);
  } catch (error) {
    say(error.message, true);
  }
}

function stop(card) {
  const audio = $(".audio", card);
  audio.pause();
  clearTimeout(card.timer);
  if (card.cursor) card.cursor.stop();
  highlight(card, null);
  delete card.dataset.playing;
}

async function download(card, fmt) {
  try {
    const text = $(".abc", card).value;
    const blob = fmt === "abc" ? new Blob([text], {type: "text/plain"}) : (await sound(card, fmt)).blob;
    const title = (text.match(/^T:(.*)$/m) || [null, "tune"])[1].trim() || "tune";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${title.replace(/[^A-Za-z0-9]+/g, "-")}.${fmt}`;
    card.dataset[fmt + "Url"] = link.href;
    document.body.appendChild(link);
    link.click();
    link.remove();
  } catch (error) {
    say(error.message, true);
  }
}

async function continueTune(card) {
  const text = $(".abc", card);
  const at = text.selectionStart > 0 && text.selectionStart < text.value.length ? text.selectionStart : text.value.length;
  const request = formData();
  say("continuing…");
  try {
    const answer = await (await api("/api/continue", {
      abc: text.value.slice(0, at), seed: request.seed, temperature: request.temperature, top_k: request.top_k,
    })).json();
    text.value = answer.tunes[0].abc;
    engrave(card);
    showCheck(card, answer.tunes[0].check);
    say("new ending sampled");
  } catch (error) {
    say(error.message, true);
  }
}

async function keep(card) {
  try {
    const tune = await (await api("/api/tunebook", {abc: $(".abc", card).value})).json();
    say(`kept as #${tune.id}`);
    listKept();
  } catch (error) {
    say(error.message, true);
  }
}

async function listKept() {
  const query = new URLSearchParams({q: $("#search").value, starred: $("#starred-only").checked ? "1" : ""});
  $("#export").href = `/api/tunebook/export.abc?${query}`;
  $("#print-book").href = `/print?${query}&for=${writtenFor()}`;
  const {tunes} = await (await fetch(`/api/tunebook?${query}`)).json();
  const list = $("#kept");
  list.replaceChildren();
  for (const tune of tunes) {
    const item = document.createElement("li");
    item.innerHTML = `<button class="star"></button><input class="title"> <button class="open">Open</button>
      <a href="/api/tunebook/${tune.id}.abc" download>abc</a> <a href="/api/tunebook/${tune.id}.mid" download>mid</a>
      <a href="/api/tunebook/${tune.id}.wav" download>wav</a>`;
    $(".star", item).textContent = tune.starred ? "★" : "☆";
    $(".star", item).addEventListener("click", async () => {
      await api(`/api/tunebook/${tune.id}`, {starred: !tune.starred}, "PATCH");
      listKept();
    });
    $(".title", item).value = tune.title;
    $(".title", item).addEventListener("change", async (e) => {
      await api(`/api/tunebook/${tune.id}`, {title: e.target.value}, "PATCH");
    });
    $(".open", item).addEventListener("click", () => $("#tunes").prepend(tuneCard(tune.abc, null)));
    list.appendChild(item);
  }
}

$("#generate-form").addEventListener("submit", generate);
$("#search").addEventListener("input", listKept);
$("#starred-only").addEventListener("change", listKept);
$("#written-for").addEventListener("change", () => {
  document.querySelectorAll("#tunes .tune").forEach((card) => engrave(card));
  listKept();
});
fetch("/api/info").then((r) => r.json()).then((info) => {
  $("#info").textContent = `model ${info.run.split("/").pop()} · tunebook ${info.tunebook.split("/").pop()}`;
  $("#info").title = `${info.run}\n${info.tunebook}`;
});
listKept();
