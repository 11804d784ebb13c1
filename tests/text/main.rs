//! Real model text through every text path: strategies, verifiers, the splitter, the view.

mod chunked;
mod paths;
mod props;
mod stderr;
mod view;
