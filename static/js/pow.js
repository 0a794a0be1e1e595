// Proof of work for questionnaires that switch it on (survey/respond/pow.py explains why and what is checked).
// The page holds a signed challenge; this script finds a nonce so that
// SHA-256(challenge + ":" + nonce) starts with `bits` zero bits, and puts it in the hidden field
// before the form is sent. Work starts as soon as the page loads, in a Web Worker (this same file)
// so the page stays responsive, or in small chunks between timers when workers are unavailable.
// The SHA-256 is our own, always: crypto.subtle exists only on HTTPS and localhost (intranet links
// are often plain HTTP), and where it does exist it was about six times slower here (one promise per
// hash; Debian Chromium on a busy 2-core machine, 18 bits: median 2.4 s against 0.4 s), because ours hashes the fixed
// challenge once and then only the last block per nonce. Nothing is fetched from anywhere.
(function (scope) {
  "use strict";

  // --- SHA-256 (FIPS 180-4), on bytes -------------------------------------------------------------
  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ];
  var INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  var W = new Int32Array(64);

  function compress(state, bytes, offset) {
    var i, t1, t2;
    for (i = 0; i < 16; i++) {
      var j = offset + i * 4;
      W[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (i = 16; i < 64; i++) {
      var x = W[i - 15], y = W[i - 2];
      var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    var a = state[0], b = state[1], c = state[2], d = state[3];
    var e = state[4], f = state[5], g = state[6], h = state[7];
    for (i = 0; i < 64; i++) {
      var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      var ch = (e & f) ^ (~e & g);
      t1 = (h + S1 + ch + K[i] + W[i]) | 0;
      var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      var maj = (a & b) ^ (a & c) ^ (b & c);
      t2 = (S0 + maj) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    state[0] = (state[0] + a) | 0; state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0; state[3] = (state[3] + d) | 0;
    state[4] = (state[4] + e) | 0; state[5] = (state[5] + f) | 0;
    state[6] = (state[6] + g) | 0; state[7] = (state[7] + h) | 0;
  }

  function utf8(text) {
    if (typeof TextEncoder !== "undefined") { return new TextEncoder().encode(text); }
    var binary = unescape(encodeURIComponent(text));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes;
  }

  // The state after every whole 64-byte block of `prefix`, and the bytes left over: the challenge
  // never changes, so each nonce costs only the compression of the last block or two.
  function midstate(prefix) {
    var state = new Int32Array(INITIAL);
    var whole = prefix.length - (prefix.length % 64);
    for (var offset = 0; offset < whole; offset += 64) { compress(state, prefix, offset); }
    return { state: state, rest: prefix.subarray(whole), length: prefix.length };
  }

  function finish(mid, tail) {
    var state = new Int32Array(mid.state);
    var used = mid.rest.length + tail.length;
    var total = mid.length + tail.length;
    var blocks = used + 9 <= 64 ? 64 : 128;
    var buffer = new Uint8Array(blocks);
    buffer.set(mid.rest, 0);
    buffer.set(tail, mid.rest.length);
    buffer[used] = 0x80;
    var bitsHigh = Math.floor(total / 0x20000000), bitsLow = (total * 8) >>> 0;
    buffer[blocks - 8] = bitsHigh >>> 24; buffer[blocks - 7] = bitsHigh >>> 16;
    buffer[blocks - 6] = bitsHigh >>> 8; buffer[blocks - 5] = bitsHigh;
    buffer[blocks - 4] = bitsLow >>> 24; buffer[blocks - 3] = bitsLow >>> 16;
    buffer[blocks - 2] = bitsLow >>> 8; buffer[blocks - 1] = bitsLow;
    for (var offset = 0; offset < blocks; offset += 64) { compress(state, buffer, offset); }
    var digest = new Uint8Array(32);
    for (var i = 0; i < 8; i++) {
      digest[i * 4] = state[i] >>> 24; digest[i * 4 + 1] = state[i] >>> 16;
      digest[i * 4 + 2] = state[i] >>> 8; digest[i * 4 + 3] = state[i];
    }
    return digest;
  }

  function sha256(bytes) { return finish(midstate(bytes), new Uint8Array(0)); }

  function hex(bytes) {
    var out = "";
    for (var i = 0; i < bytes.length; i++) { out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16); }
    return out;
  }

  function leadingZeroBits(digest) {
    var count = 0;
    for (var i = 0; i < digest.length; i++) {
      if (digest[i] === 0) { count += 8; continue; }
      for (var bit = 7; bit >= 0 && !(digest[i] & (1 << bit)); bit--) { count++; }
      return count;
    }
    return count;
  }

  function asciiBytes(text) {
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    return bytes;
  }

  // --- search -------------------------------------------------------------------------------------
  var CHUNK = 4000;

  // Try nonces 0, 1, 2, … until SHA-256(challenge + ":" + nonce) starts with `bits` zero bits. In a
  // worker (`pause` null) it simply loops; on the page it stops every `CHUNK` nonces and lets `pause`
  // schedule the rest, so taps and scrolling are never held up for long.
  function search(challenge, bits, pause, done) {
    var mid = midstate(utf8(challenge + ":"));
    var nonce = 0;
    function run() {
      for (var end = nonce + CHUNK; pause === null || nonce < end; nonce++) {
        if (leadingZeroBits(finish(mid, asciiBytes(String(nonce)))) >= bits) { done(String(nonce)); return; }
      }
      pause(run);
    }
    run();
  }

  function later(go) { setTimeout(go, 0); }

  var api = {
    sha256Hex: function (text) { return hex(sha256(utf8(text))); },
    leadingZeroBits: leadingZeroBits,
    nonce: null,
    // For measuring and testing: solve on this page, in chunks, as the fallback does.
    solve: function (challenge, bits) {
      return new Promise(function (resolve) { search(challenge, bits, later, resolve); });
    }
  };

  // --- worker mode: the same file, started by the page --------------------------------------------
  if (typeof document === "undefined") {
    scope.onmessage = function (event) {
      search(event.data.challenge, event.data.bits, null, function (nonce) { scope.postMessage({ nonce: nonce }); });
    };
    return;
  }

  // --- page mode ----------------------------------------------------------------------------------
  scope.SurveyPow = api;
  var script = document.currentScript;
  var challengeInput = document.querySelector("input[name='pow_challenge']");
  var nonceInput = document.querySelector("input[name='pow_nonce']");
  if (!challengeInput || !nonceInput || !challengeInput.form) { return; }
  var form = challengeInput.form;
  var status = document.getElementById("pow-status");
  var challenge = challengeInput.value;
  var bits = parseInt(challenge.split(".")[4], 10);
  var waiting = false;
  if (!(bits >= 1 && bits <= 32)) { return; }

  function say(key) {
    if (!status) { return; }
    status.textContent = status.getAttribute("data-" + key) || "";
    status.hidden = false;
  }

  function solved(nonce) {
    if (nonceInput.value) { return; }
    nonceInput.value = nonce;
    api.nonce = nonce;
    form.setAttribute("data-pow", "done");
    if (waiting) { say("sending"); HTMLFormElement.prototype.submit.call(form); }  // form.submit may be the #submit button
  }

  function onPage() {
    search(challenge, bits, later, solved);
  }

  form.addEventListener("submit", function (event) {
    if (nonceInput.value) { return; }
    event.preventDefault();
    waiting = true;
    say("working");
  });

  try {
    if (!scope.Worker || !script || !script.src) { throw new Error("no worker"); }
    var worker = new Worker(script.src);
    worker.onmessage = function (event) { solved(event.data.nonce); worker.terminate(); };
    worker.onerror = function (event) { if (event && event.preventDefault) { event.preventDefault(); } onPage(); };
    worker.postMessage({ challenge: challenge, bits: bits });
  } catch (error) {
    onPage();
  }
})(self);
