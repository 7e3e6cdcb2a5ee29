/**
 * The player page of `ffleet play`: one video element, hls.js for the HLS master playlist, or
 * dash.js (`?player=dash`) or Shaka Player (`?player=shaka`) for the MPD. It exposes what it
 * sees on `window.ffleetPlayback` (rungs, their codecs, the one playing, subtitle tracks,
 * errors), `window.ffleetSwitch(index)` to pick a rung, `window.ffleetSubtitles(index)` to show
 * a subtitle track (-1: none) and `window.ffleetCues()` for the cues of the one showing, so a
 * person can watch and a test can check.
 */
export const PLAYER_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>ffleet play</title>
<style>
  body { margin: 0; background: #111; color: #ddd; font: 14px system-ui, sans-serif; }
  nav { padding: 8px 12px; }
  a { color: #8cf; margin-right: 12px; }
  video { display: block; width: 100%; max-height: 88vh; background: #000; }
  #rungs button, #subtitles button { margin-right: 6px; }
</style>
<nav>
  <a href="?player=hls">HLS (hls.js)</a><a href="?player=dash">DASH (dash.js)</a><a href="?player=shaka">DASH (Shaka)</a>
  <span id="rungs"></span> <span id="subtitles"></span> <span id="status"></span>
</nav>
<video id="video" controls muted autoplay playsinline></video>
<script src="/lib/hls.min.js"></script>
<script src="/lib/dash.all.min.js"></script>
<script src="/lib/shaka-player.compiled.js"></script>
<script src="/player.js"></script>
</html>
`;

export const PLAYER_SCRIPT = `'use strict';
const asked = new URLSearchParams(location.search).get('player');
const kind = ['dash', 'shaka'].includes(asked) ? asked : 'hls';
const video = document.getElementById('video');
const status = document.getElementById('status');
const state = { kind, rungs: [], codecs: [], subtitles: [], playing: -1, errors: [] };
window.ffleetPlayback = state;

function buttons(id, names, pick) {
  document.getElementById(id).replaceChildren(...names.map((name, i) => {
    const button = document.createElement('button');
    button.textContent = name;
    button.onclick = () => pick(i);
    return button;
  }));
}
function showRungs() {
  buttons('rungs', state.rungs, (i) => window.ffleetSwitch(i));
}
function showSubtitles() {
  buttons('subtitles', ['no subtitles', ...state.subtitles], (i) => window.ffleetSubtitles(i - 1));
}
window.ffleetCues = () => Array.from(video.textTracks)
  .filter((track) => track.mode === 'showing')
  .flatMap((track) => Array.from(track.cues || [], (cue) => ({ start: cue.startTime, end: cue.endTime, text: cue.text })));
function playing(index) {
  state.playing = index;
  status.textContent = kind.toUpperCase() + ' playing ' + (state.rungs[index] || index);
}

if (kind === 'hls') {
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (data.fatal) state.errors.push(data.type + ': ' + data.details);
  });
  hls.on(Hls.Events.MANIFEST_PARSED, (_, data) => {
    state.rungs = data.levels.map((l) => l.height + 'p ' + Math.round(l.bitrate / 1000) + ' kb/s');
    state.codecs = data.levels.map((l) => l.videoCodec || '');
    showRungs();
    video.play().catch(() => {});
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, data) => playing(data.level));
  hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, (_, data) => {
    state.subtitles = data.subtitleTracks.map((t) => t.name);
    showSubtitles();
  });
  window.ffleetSubtitles = (index) => {
    hls.subtitleDisplay = index >= 0;
    hls.subtitleTrack = index;
  };
  hls.loadSource('/media/master.m3u8');
  hls.attachMedia(video);
  window.ffleetSwitch = (index) => { hls.currentLevel = index; };
} else if (kind === 'shaka') {
  shaka.polyfill.installAll();
  const player = new shaka.Player();
  // Cues on the video's own text tracks, where ffleetCues reads them.
  player.configure({ textDisplayFactory: () => new shaka.text.NativeTextDisplayer(player) });
  player.addEventListener('error', (e) => state.errors.push(JSON.stringify(e.detail)));
  // A variant pairs a rung with an audio rendition: one rung per video stream.
  let rungs = [];
  const rungOf = (track) => rungs.findIndex((r) => r.videoId === track.videoId);
  const report = () => {
    const active = player.getVariantTracks().find((t) => t.active);
    if (active) playing(rungOf(active));
  };
  player.addEventListener('adaptation', report);
  player.addEventListener('variantchanged', report);
  player.attach(video)
    .then(() => player.load('/media/manifest.mpd'))
    .then(() => {
      const byVideo = new Map();
      for (const t of player.getVariantTracks()) if (!byVideo.has(t.videoId)) byVideo.set(t.videoId, t);
      rungs = [...byVideo.values()];
      state.rungs = rungs.map((t) => t.height + 'p ' + Math.round((t.videoBandwidth || t.bandwidth) / 1000) + ' kb/s');
      state.codecs = rungs.map((t) => t.videoCodec || '');
      showRungs();
      state.subtitles = player.getTextTracks().map((t) => [t.language, ...t.roles].filter(Boolean).join(' '));
      showSubtitles();
      report();
      video.play().catch(() => {});
    })
    .catch((e) => state.errors.push('shaka: ' + (e && (e.code || e.message))));
  window.ffleetSubtitles = (index) => player.selectTextTrack(index >= 0 ? player.getTextTracks()[index] : null);
  window.ffleetSwitch = (index) => {
    player.configure({ abr: { enabled: false } });
    player.selectVariantTrack(player.getVariantTracks().find((t) => t.videoId === rungs[index].videoId), true);
  };
} else {
  const player = dashjs.MediaPlayer().create();
  const events = dashjs.MediaPlayer.events;
  player.on(events.ERROR, (e) => state.errors.push(JSON.stringify(e.error)));
  player.on(events.STREAM_INITIALIZED, () => {
    const representations = player.getRepresentationsByType('video');
    state.rungs = representations.map((r) => r.height + 'p ' + Math.round(r.bandwidth / 1000) + ' kb/s');
    state.codecs = representations.map((r) => r.codecs || '');
    showRungs();
    state.subtitles = player.getTracksFor('text').map((t) =>
      [t.lang, ...(t.roles || []).map((r) => r.value || r)].filter(Boolean).join(' '));
    showSubtitles();
  });
  window.ffleetSubtitles = (index) => {
    player.enableText(index >= 0);
    if (index >= 0) player.setTextTrack(index);
  };
  player.on(events.QUALITY_CHANGE_RENDERED, (e) => {
    if (e.mediaType === 'video') playing(e.newRepresentation.index);
  });
  player.initialize(video, '/media/manifest.mpd', true);
  window.ffleetSwitch = (index) => {
    player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false } } } });
    player.setRepresentationForTypeByIndex('video', index, true);
  };
}
video.addEventListener('error', () => state.errors.push('video: ' + (video.error && video.error.message)));
`;
