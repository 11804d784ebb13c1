pub mod analysis;
pub mod bins;
pub mod fit;
pub mod records;
pub mod report;
#[cfg(test)]
mod tests;
