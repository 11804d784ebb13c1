//! Extraction rules for whole responses and lenient grading.

use super::*;
