# Fixes on top of the uv.lock package set: build systems that uv.lock does not
# record (sdists), and native libraries that wheels load at run time by name
# (which a Nix store cannot resolve through the usual search paths).
{
  lib,
  stdenv,
  pkg-config,
  libmysqlclient,
  libpq,
  glib,
  pango,
  harfbuzz,
  fontconfig,
  poppler-utils,
}:
final: prev:
let
  inherit (final.python) sitePackages;
  sharedLibrary = stdenv.hostPlatform.extensions.sharedLibrary;

  # uv.lock has no build-system metadata; these sdists (no wheel on PyPI)
  # build with setuptools' setup.py backend.
  withSetuptools =
    name:
    prev.${name}.overrideAttrs (old: {
      nativeBuildInputs =
        old.nativeBuildInputs
        ++ final.resolveBuildSystem {
          setuptools = [ ];
          wheel = [ ];
        };
    });

  # substituteInPlace arguments that prepend an absolute library path to the
  # names each `_dlopen(ffi, ...)` call tries, so the library is found
  # without LD_LIBRARY_PATH.
  dlopenFirst =
    libraries:
    lib.escapeShellArgs (
      lib.concatLists (
        lib.mapAttrsToList (firstName: path: [
          "--replace-fail"
          "ffi, '${firstName}',"
          "ffi, '${path}', '${firstName}',"
        ]) libraries
      )
    );
in
lib.genAttrs [
  "django-mailbox"
  "django-xforwardedfor-middleware"
  "sgmllib3k"
] withSetuptools
// {
  # MySQL/MariaDB driver: C extension built from the sdist against
  # MariaDB Connector/C, found through pkg-config.
  mysqlclient = prev.mysqlclient.overrideAttrs (old: {
    nativeBuildInputs =
      old.nativeBuildInputs
      ++ [ pkg-config ]
      ++ final.resolveBuildSystem { setuptools = [ ]; };
    buildInputs = (old.buildInputs or [ ]) ++ [ libmysqlclient ];
  });

  # PostgreSQL driver (pure-Python psycopg 3): it loads libpq and libc with
  # ctypes; point it at them (as nixpkgs' psycopg does).
  psycopg = prev.psycopg.overrideAttrs (old: {
    postInstall = (old.postInstall or "") + ''
      substituteInPlace $out/${sitePackages}/psycopg/pq/_pq_ctypes.py \
        --replace-fail 'if not (libname := find_libpq_full_path()):' \
                       'if not (libname := "${lib.getLib libpq}/lib/libpq${sharedLibrary}"):' \
        --replace-fail 'ctypes.util.find_library("c")' '"${stdenv.cc.libc}/lib/libc.so.6"'
    '';
  });

  # PDF rendering (reports, labels): WeasyPrint loads Pango, HarfBuzz,
  # fontconfig and GObject with cffi; nixpkgs' weasyprint patches the same
  # calls to absolute paths.
  weasyprint = prev.weasyprint.overrideAttrs (old: {
    postInstall = (old.postInstall or "") + ''
      substituteInPlace $out/${sitePackages}/weasyprint/text/ffi.py ${
        dlopenFirst {
          "libgobject-2.0-0" = "${lib.getLib glib}/lib/libgobject-2.0${sharedLibrary}";
          "libpango-1.0-0" = "${lib.getLib pango}/lib/libpango-1.0${sharedLibrary}";
          "libharfbuzz-0" = "${lib.getLib harfbuzz}/lib/libharfbuzz${sharedLibrary}";
          "libharfbuzz-subset-0" = "${lib.getLib harfbuzz}/lib/libharfbuzz-subset${sharedLibrary}";
          "libfontconfig-1" = "${lib.getLib fontconfig}/lib/libfontconfig${sharedLibrary}";
          "libpangoft2-1.0-0" = "${lib.getLib pango}/lib/libpangoft2-1.0${sharedLibrary}";
        }
      }
    '';
  });

  # Label printing renders PDFs to images with poppler's pdftoppm, looked up
  # on PATH by default; default to the store path (as nixpkgs' pdf2image does).
  pdf2image = prev.pdf2image.overrideAttrs (old: {
    postInstall = (old.postInstall or "") + ''
      substituteInPlace $out/${sitePackages}/pdf2image/pdf2image.py \
        --replace-fail 'poppler_path: Union[str, PurePath] = None' \
                       'poppler_path: Union[str, PurePath] = "${poppler-utils}/bin"'
    '';
  });
}
