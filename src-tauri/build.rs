fn main() {
    // tauri.conf.json sits at the top of the repository, beside this package's Cargo.toml;
    // the shell's capabilities live with its sources.
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*"),
    )
    .expect("tauri build script failed");
}
