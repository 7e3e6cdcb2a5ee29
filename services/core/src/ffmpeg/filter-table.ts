/**
 * The filters a job may use, as data. A filter is accepted only when it is listed here:
 * a filter added by a future FFmpeg release is refused until someone has read its options.
 *
 * - ALLOWED_FILTERS: filters that neither open files, devices (other than the GPU the pool
 *   provides) nor the network, whatever their arguments.
 * - FILE_OPTION_FILTERS: useful filters with some options that read or write files. Those
 *   options (with every alias ffmpeg accepts) are refused, and so are positional values,
 *   because a positional value may land on a file option (drawtext's first is `fontfile`).
 * - REFUSED_FILTERS: filters whose purpose is to open a file, device, library or socket.
 *
 * To extend: check `ffmpeg -h filter=NAME` for options of type string that name a file
 * (file, filename, f, path, model, fontfile, textfile, stats_file, …), then add the filter
 * to ALLOWED_FILTERS or, with those options, to FILE_OPTION_FILTERS.
 */

const words = (text: string): ReadonlySet<string> => new Set(text.split(/\s+/).filter(Boolean));

export const ALLOWED_FILTERS: ReadonlySet<string> = words(`
  abench acompressor acontrast acopy acrossfade acrossover acrusher acue adeclick adeclip
  adecorrelate adelay adenorm aderivative adynamicequalizer adynamicsmooth aecho aemphasis aeval
  aexciter afade afftdn afftfilt afifo afir aformat afreqshift afwtdn agate aiir aintegral
  ainterleave alatency alimiter allpass aloop amerge amix amultiply anequalizer anlmdn anlmf anlms
  anull anullsink apad aperms aphaser aphaseshift apsyclip apulsator arealtime aresample areverse
  asdr asegment aselect asetnsamples asetpts asetrate asettb ashowinfo asidedata asoftclip
  aspectralstats asplit astats astreamselect asubboost asubcut asupercut asuperpass asuperstop
  atempo atilt atrim axcorrelate bandpass bandreject bass biquad bs2b channelmap channelsplit
  chorus compand compensationdelay crossfeed crystalizer dcshift deesser dialoguenhance drmeter
  dynaudnorm earwax ebur128 equalizer extrastereo flanger haas hdcd headphone highpass highshelf
  join loudnorm lowpass lowshelf mcompand pan replaygain rubberband sidechaincompress
  sidechaingate silencedetect silenceremove speechnorm stereotools stereowiden superequalizer
  surround tiltshelf treble tremolo vibrato virtualbass volume volumedetect

  aevalsrc afirsrc anoisesrc anullsrc hilbert sinc sine

  addroi alphaextract alphamerge amplify atadenoise avgblur bbox bench bilateral bitplanenoise
  blackdetect blackframe blend blockdetect blurdetect bm3d boxblur bwdif cas chromahold chromakey
  chromanr chromashift ciescope codecview colorbalance colorchannelmixer colorcontrast colorcorrect
  colorize colorkey colorhold colorlevels colormap colormatrix colorspace colortemperature
  convolution convolve copy crop cropdetect cue datascope dblur dctdnoiz deband deblock decimate
  deconvolve dedot deflate deflicker dejudder delogo despill detelecine dilation displace
  doubleweave drawbox drawgraph drawgrid edgedetect elbg entropy epx eq erosion estdif exposure
  extractplanes fade feedback fftdnoiz fftfilt field fieldmatch fieldorder fifo fillborders
  floodfill format fps framepack framerate framestep freezedetect freezeframes fspp gblur geq
  gradfun graphmonitor grayworld greyedge guided haldclut hflip histeq histogram hqdn3d hqx hstack
  hsvhold hsvkey hue huesaturation hysteresis identity idet il inflate interlace interleave
  kerndeint kirsch lagfun latency lenscorrection limitdiff limiter loop lumakey lut lut2 lutrgb
  lutyuv maskedclamp maskedmax maskedmerge maskedmin maskedthreshold maskfun median mergeplanes
  mestimate midequalizer minterpolate mix monochrome morpho mpdecimate msad multiply negate nlmeans
  noformat noise normalize null nullsink oscilloscope overlay owdenoise pad palettegen perms
  perspective phase photosensitivity pixdesctest pixelize pixscope pp pp7 premultiply prewitt
  pseudocolor pullup qp random readeia608 readvitc realtime remap removegrain repeatfields reverse
  rgbashift roberts rotate sab scale scale2ref scdet scharr scroll segment select separatefields
  setdar setfield setparams setpts setrange setsar settb shear showinfo showpalette shuffleframes
  shufflepixels shuffleplanes sidedata signalstats siti smartblur sobel split spp stereo3d
  streamselect super2xsai swaprect swapuv tblend telecine thistogram threshold thumbnail tile
  tinterlace tlut2 tmedian tmidequalizer tmix tonemap tpad transpose trim unpremultiply unsharp
  untile v360 vaguedenoiser varblur vectorscope vflip vfrdet vibrance vif vignette vstack w3fdif
  waveform weave xbr xcorrelate xfade xmedian xstack yadif yaepblur zoompan zscale

  allrgb allyuv color colorchart colorspectrum gradients haldclutsrc mandelbrot mptestsrc nullsrc
  pal75bars pal100bars rgbtestsrc sierpinski smptebars smptehdbars testsrc testsrc2 yuvtestsrc

  abitscope adrawgraph agraphmonitor ahistogram aphasemeter avectorscope avsynctest concat
  showfreqs showspatial showspectrum showspectrumpic showvolume showwaves showwavespic
  spectrumsynth

  hwdownload hwmap hwupload
  bilateral_cuda bwdif_cuda chromakey_cuda colorspace_cuda hwupload_cuda overlay_cuda scale_cuda
  thumbnail_cuda yadif_cuda scale_npp sharpen_npp transpose_npp
  deinterlace_vaapi denoise_vaapi overlay_vaapi procamp_vaapi scale_vaapi sharpness_vaapi
  tonemap_vaapi transpose_vaapi
  deinterlace_qsv overlay_qsv scale_qsv vpp_qsv
  avgblur_opencl boxblur_opencl colorkey_opencl convolution_opencl deshake_opencl dilation_opencl
  erosion_opencl nlmeans_opencl overlay_opencl pad_opencl prewitt_opencl remap_opencl
  roberts_opencl sobel_opencl tonemap_opencl transpose_opencl unsharp_opencl
  avgblur_vulkan blend_vulkan chromaber_vulkan flip_vulkan gblur_vulkan hflip_vulkan
  overlay_vulkan scale_vulkan transpose_vulkan vflip_vulkan
  multiscale_xma xvbm_convert
`);

export const FILE_OPTION_FILTERS: Readonly<Record<string, readonly string[]>> = {
  ametadata: ['file'],
  cellauto: ['filename', 'f'],
  curves: ['psfile'],
  deshake: ['filename'],
  drawtext: ['fontfile', 'textfile'],
  firequalizer: ['dumpfile'],
  libplacebo: ['custom_shader_path', 'custom_shader_bin'],
  libvmaf: ['model', 'model_path', 'log_path'],
  life: ['filename', 'f'],
  metadata: ['file'],
  paletteuse: ['debug_kdtree'],
  psnr: ['stats_file', 'f'],
  selectivecolor: ['psfile'],
  showcqt: ['fontfile', 'axisfile'],
  signature: ['filename'],
  ssim: ['stats_file', 'f'],
  vmafmotion: ['stats_file'],
  xfade_opencl: ['source'],
};

export const REFUSED_FILTERS: Readonly<Record<string, string>> = {
  movie: 'it opens any file or URL as an extra input; declare inputs in inputs[] instead',
  amovie: 'it opens any file or URL as an extra input; declare inputs in inputs[] instead',
  subtitles: 'it opens a subtitle file by name',
  ass: 'it opens a subtitle file by name',
  lut1d: 'it reads a LUT file',
  lut3d: 'it reads a LUT file (use haldclut with a Hald CLUT image input instead)',
  sendcmd: 'it reads commands from a file or runs arbitrary filter commands',
  asendcmd: 'it reads commands from a file or runs arbitrary filter commands',
  zmq: 'it opens a network socket',
  azmq: 'it opens a network socket',
  frei0r: 'it loads a shared library plugin',
  frei0r_src: 'it loads a shared library plugin',
  ladspa: 'it loads a shared library plugin',
  lv2: 'it loads a shared library plugin',
  flite: 'it reads text and voice files',
  asr: 'it reads speech model files',
  arnndn: 'it reads a model file',
  sofalizer: 'it reads a SOFA file',
  nnedi: 'it reads a weights file',
  fieldhint: 'it reads a hint file',
  vidstabdetect: 'it writes a transforms file',
  vidstabtransform: 'it reads a transforms file',
  removelogo: 'it reads a mask image file',
  cover_rect: 'it reads an image file',
  find_rect: 'it reads an image file',
  ocr: 'it reads OCR data files',
  dnn_classify: 'it reads a model file',
  dnn_detect: 'it reads a model file',
  dnn_processing: 'it reads a model file',
  sr: 'it reads a model file',
  derain: 'it reads a model file',
  program_opencl: 'it reads and runs an OpenCL program file',
  openclsrc: 'it reads and runs an OpenCL program file',
  buffer: 'it is internal to ffmpeg',
  abuffer: 'it is internal to ffmpeg',
  buffersink: 'it is internal to ffmpeg',
  abuffersink: 'it is internal to ffmpeg',
};
