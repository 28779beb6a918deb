/* gst-chatterbox plugin entry point. plugin_init only registers: it must not touch libtorch
 * or CUDA, since registry scans (gst-plugin-scanner) load every plugin. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstchatterboxtts.h"

static gboolean plugin_init(GstPlugin* plugin) {
  return GST_ELEMENT_REGISTER(chatterboxtts, plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, chatterbox,
                  "Chatterbox neural text-to-speech (libtorch)", plugin_init, VERSION, GST_LICENSE,
                  GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
