// detstream_rtsp_loop_server: a real RTSP server (GStreamer's gst-rtsp-server) for the live-source
// tests. It serves one video file, decoded and re-encoded as H.264, in an endless loop, paced at
// the file's own frame rate, on rtsp://<address>:<port><mount>.
//
//   detstream_rtsp_loop_server --file ../shared/videos/vtest_pets_480x360.mp4 --port 8554 [--mount /x]
//                              [--address 127.0.0.1]
//
// Prints "ready rtsp://ADDRESS:PORT/MOUNT" on stdout once it listens, then runs until killed.
// Tests kill it (SIGKILL: a crashed camera) and start it again on the same port to exercise the
// pipeline's reconnect path.
//
// Why decode and re-encode rather than pay the file's H.264 straight through: looping a decoded
// stream is a seek in a pipeline this program owns, and the re-encoder starts every client on a
// key frame with fresh timestamps; gst-rtsp-server's own media cannot loop a file.
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct Options {
  std::string file;
  std::string address = "127.0.0.1";
  std::string port = "8554";
  std::string mount = "/x";
};

// The decoding pipeline behind one client-facing media: its appsink is pulled (in real time,
// sync=true) whenever the media's appsrc asks for data; end of file seeks back to the start.
struct FileLoop {
  GstElement* pipeline = nullptr;
  GstElement* frames = nullptr;
  bool caps_set = false;
  long loops = 0;
};

void destroy_loop(gpointer data) {
  auto* loop = static_cast<FileLoop*>(data);
  gst_element_set_state(loop->pipeline, GST_STATE_NULL);
  gst_object_unref(loop->frames);
  gst_object_unref(loop->pipeline);
  delete loop;
}

GstSample* next_frame(FileLoop& loop) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(loop.frames), 5 * GST_SECOND)) return sample;
    if (!gst_app_sink_is_eos(GST_APP_SINK(loop.frames))) return nullptr;
    ++loop.loops;
    std::fprintf(stderr, "rtsp_loop_server: end of file, looping (%ld)\n", loop.loops);
    gst_element_seek_simple(loop.pipeline, GST_FORMAT_TIME,
                            static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT), 0);
  }
  return nullptr;
}

void on_need_data(GstElement* appsrc, guint, gpointer data) {
  auto& loop = *static_cast<FileLoop*>(data);
  GstSample* sample = next_frame(loop);
  if (!sample) {
    gst_app_src_end_of_stream(GST_APP_SRC(appsrc));
    return;
  }
  if (!loop.caps_set) {
    gst_app_src_set_caps(GST_APP_SRC(appsrc), gst_sample_get_caps(sample));
    loop.caps_set = true;
  }
  // Fresh timestamps from the media's clock (do-timestamp): the file's own restart at every loop.
  GstBuffer* buffer = gst_buffer_make_writable(gst_buffer_ref(gst_sample_get_buffer(sample)));
  GST_BUFFER_PTS(buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION(buffer) = GST_CLOCK_TIME_NONE;
  gst_app_src_push_buffer(GST_APP_SRC(appsrc), buffer);
  gst_sample_unref(sample);
}

void on_media_configure(GstRTSPMediaFactory*, GstRTSPMedia* media, gpointer data) {
  const auto& options = *static_cast<const Options*>(data);
  GError* error = nullptr;
  gchar* location = g_strescape(options.file.c_str(), nullptr);
  const std::string description = std::string("filesrc location=\"") + location +
                                  "\" ! decodebin ! videoconvert ! video/x-raw,format=I420 ! "
                                  "appsink name=frames sync=true max-buffers=2";
  g_free(location);
  auto* loop = new FileLoop;
  loop->pipeline = gst_parse_launch(description.c_str(), &error);
  if (error) {
    std::fprintf(stderr, "rtsp_loop_server: %s\n", error->message);
    std::exit(2);
  }
  loop->frames = gst_bin_get_by_name(GST_BIN(loop->pipeline), "frames");
  gst_element_set_state(loop->pipeline, GST_STATE_PLAYING);

  GstElement* bin = gst_rtsp_media_get_element(media);
  GstElement* appsrc = gst_bin_get_by_name_recurse_up(GST_BIN(bin), "src");
  g_object_set_data_full(G_OBJECT(appsrc), "file-loop", loop, destroy_loop);
  g_signal_connect(appsrc, "need-data", G_CALLBACK(on_need_data), loop);
  gst_object_unref(appsrc);
  gst_object_unref(bin);
}

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--file")
      options.file = argv[i + 1];
    else if (flag == "--port")
      options.port = argv[i + 1];
    else if (flag == "--mount")
      options.mount = argv[i + 1];
    else if (flag == "--address")
      options.address = argv[i + 1];
    else
      return false;
  }
  return !options.file.empty() && argc % 2 == 1 && options.mount.rfind('/', 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  static Options options;
  if (!parse(argc, argv, options)) {
    std::fprintf(stderr, "usage: %s --file VIDEO [--port 8554] [--mount /x] [--address 127.0.0.1]\n", argv[0]);
    return 2;
  }
  if (!g_file_test(options.file.c_str(), G_FILE_TEST_IS_REGULAR)) {
    std::fprintf(stderr, "rtsp_loop_server: '%s' is not a file\n", options.file.c_str());
    return 2;
  }
  GMainLoop* main_loop = g_main_loop_new(nullptr, FALSE);
  GstRTSPServer* server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, options.address.c_str());
  gst_rtsp_server_set_service(server, options.port.c_str());
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  // key-int-max: a reconnecting client sees a key frame (a decodable picture) within 1 s at 10 fps.
  gst_rtsp_media_factory_set_launch(factory,
                                    "( appsrc name=src is-live=true format=time do-timestamp=true ! videoconvert ! "
                                    "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! "
                                    "rtph264pay name=pay0 pt=96 config-interval=1 )");
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  g_signal_connect(factory, "media-configure", G_CALLBACK(on_media_configure), &options);
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
  gst_rtsp_mount_points_add_factory(mounts, options.mount.c_str(), factory);
  g_object_unref(mounts);
  if (gst_rtsp_server_attach(server, nullptr) == 0) {
    std::fprintf(stderr, "rtsp_loop_server: cannot listen on %s:%s\n", options.address.c_str(), options.port.c_str());
    return 1;
  }
  std::printf("ready rtsp://%s:%s%s\n", options.address.c_str(), options.port.c_str(), options.mount.c_str());
  std::fflush(stdout);
  g_main_loop_run(main_loop);
  return 0;
}
