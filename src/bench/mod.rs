pub mod analysis;
pub mod bins;
pub mod fit;
pub mod records;
pub mod report;
pub mod svg;
#[cfg(test)]
mod tests;
