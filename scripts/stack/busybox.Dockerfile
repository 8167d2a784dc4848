# A busybox image from Debian's busybox-static, for the stack test where busybox cannot
# be pulled: the collector image's stand-in base (a shell, mkdir, chown, wget).
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS debian
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox-static \
 && mkdir -p /rootfs/bin /rootfs/tmp \
 && cp /bin/busybox /rootfs/bin/busybox \
 && for applet in $(/bin/busybox --list); do [ -e "/rootfs/bin/$applet" ] || ln -s busybox "/rootfs/bin/$applet"; done \
 && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=debian /rootfs /
CMD ["sh"]
