//! The stand-in for the module's `FONTCONFIG_FILE` (`pkgs.makeFontsConf` of
//! `services.inventree.fonts`): a fontconfig file of the same shape — font directories, the
//! XDG cache the units' `XDG_CACHE_HOME` makes writable, the system's `conf.d` — listing the fonts
//! this machine (or the container) has instead of the store's font packages.

/// Where Debian (the host and the container rootfs) keeps its fonts.
pub const SYSTEM_FONT_DIRS: &[&str] = &["/usr/share/fonts"];

/// The store name of the module's fontconfig file.
pub const STORE_NAME: &str = "fonts.conf";

/// A fontconfig file listing `font_dirs`.
pub fn fonts_conf(font_dirs: &[&str]) -> String {
    let dirs: String = font_dirs
        .iter()
        .map(|dir| format!("  <dir>{dir}</dir>\n"))
        .collect();
    format!(
        "<?xml version=\"1.0\"?>\n\
         <!DOCTYPE fontconfig SYSTEM \"urn:fontconfig:fonts.dtd\">\n\
         <fontconfig>\n\
         {dirs}  <cachedir prefix=\"xdg\">fontconfig</cachedir>\n  \
         <include ignore_missing=\"yes\">/etc/fonts/conf.d</include>\n\
         </fontconfig>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_each_font_directory_and_a_cache_under_xdg_cache_home() {
        let text = fonts_conf(&["/usr/share/fonts", "/opt/fonts"]);
        assert!(text.contains("<dir>/usr/share/fonts</dir>\n  <dir>/opt/fonts</dir>"));
        assert!(text.contains("<cachedir prefix=\"xdg\">fontconfig</cachedir>"));
        assert!(text.starts_with("<?xml"));
    }
}
