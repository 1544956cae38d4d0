#!/usr/bin/python3
"""A real RTSP server for posecam's tests: GStreamer's gst-rtsp-server on 127.0.0.1.

    rtsp_server.py PORT [USER PASSWORD]

/stream serves H.264 test video (320x240, 10 fps) with AAC audio, over TCP and UDP transport; with USER
and PASSWORD, only to them (HTTP basic: others get 401). Prints "ready" once it listens.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PIPELINE = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=10/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! rtph264pay name=pay0 pt=96 "
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! avenc_aac "
    "! rtpmp4gpay name=pay1 pt=97 )"
)


def factory(role):
    f = GstRtspServer.RTSPMediaFactory()
    f.set_launch(PIPELINE)
    f.set_shared(True)
    f.add_role_from_structure(
        Gst.Structure.from_string(
            f"{role}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )[0]
    )
    return f


def main():
    port = sys.argv[1]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    role = "anonymous"
    if len(sys.argv) > 3:
        # No default token: a request without credentials is answered 401.
        role = "user"
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", role)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(sys.argv[2], sys.argv[3]), token)
        server.set_auth(auth)
    mounts = server.get_mount_points()
    mounts.add_factory("/stream", factory(role) if role == "user" else plain())
    if server.attach(None) == 0:
        sys.exit("cannot listen on 127.0.0.1:" + port)
    print("ready", flush=True)
    GLib.MainLoop().run()


def plain():
    f = GstRtspServer.RTSPMediaFactory()
    f.set_launch(PIPELINE)
    f.set_shared(True)
    return f


if __name__ == "__main__":
    main()
