//! `cargo run -p vectorgen [DIR]`: writes spec/vectors (or DIR).

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors")));
    let cases = dir.join("presentations");
    std::fs::create_dir_all(&cases)?;
    for entry in std::fs::read_dir(&cases)? {
        std::fs::remove_file(entry?.path())?;
    }
    std::fs::write(dir.join("context.json"), vectorgen::context_json())?;
    let vectors = vectorgen::vectors();
    for vector in &vectors {
        std::fs::write(
            cases.join(format!("{}.json", vector.name)),
            vector.to_json(),
        )?;
    }
    let material = dir.join("trust-material");
    std::fs::create_dir_all(&material)?;
    for entry in std::fs::read_dir(&material)? {
        std::fs::remove_file(entry?.path())?;
    }
    let documents = vectorgen::trust_material::vectors();
    for vector in &documents {
        std::fs::write(
            material.join(format!("{}.json", vector.name)),
            vector.to_json(),
        )?;
    }
    eprintln!(
        "wrote {} presentation vectors, {} trust-material vectors and context.json to {}",
        vectors.len(),
        documents.len(),
        dir.display()
    );
    Ok(())
}
