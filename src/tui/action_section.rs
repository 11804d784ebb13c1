//! The sections of the key help (`?`): every action belongs to exactly one. The match in
//! [`Action::section`] has no catch-all, so a new action does not compile until it is given
//! a section here.

use super::action::Action;

/// A heading of the key help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Run,
    Search,
    Navigate,
    Panels,
    Traces,
    StrategyKnobs,
}

impl Section {
    /// Every section, in the order the help lists them.
    pub const ALL: [Section; 6] = [
        Section::Run,
        Section::Search,
        Section::Navigate,
        Section::Panels,
        Section::Traces,
        Section::StrategyKnobs,
    ];

    /// The heading shown above the section's keys.
    pub fn title(self) -> &'static str {
        match self {
            Section::Run => "Run",
            Section::Search => "Search knobs",
            Section::Navigate => "Navigate",
            Section::Panels => "Panels & views",
            Section::Traces => "Traces & replay",
            Section::StrategyKnobs => "Strategy knobs (consistency, particles)",
        }
    }

    /// The section's actions, in the order of [`Action::ALL`].
    pub fn actions(self) -> impl Iterator<Item = Action> {
        Action::ALL.into_iter().filter(move |a| a.section() == self)
    }
}

impl Action {
    /// The help section the action is listed under.
    pub fn section(self) -> Section {
        match self {
            Action::Help
            | Action::Quit
            | Action::Back
            | Action::Rerun
            | Action::PauseResume
            | Action::Cancel
            | Action::PickProblem
            | Action::PickModel => Section::Run,
            Action::NUp
            | Action::NDown
            | Action::DepthUp
            | Action::DepthDown
            | Action::WidthUp
            | Action::WidthDown
            | Action::LookaheadUp
            | Action::LookaheadDown
            | Action::ChainsUp
            | Action::ChainsDown
            | Action::RevisionsUp
            | Action::RevisionsDown
            | Action::TemperatureUp
            | Action::TemperatureDown
            | Action::CycleStrategy
            | Action::CycleVerifier
            | Action::CycleAggregation
            | Action::CycleSelection => Section::Search,
            Action::FocusPrev
            | Action::FocusNext
            | Action::PagePrev
            | Action::PageNext
            | Action::StepUp
            | Action::StepDown
            | Action::TreeUp
            | Action::TreeDown
            | Action::RunPrev
            | Action::RunNext => Section::Navigate,
            Action::Zoom
            | Action::ToggleTree
            | Action::Inspect
            | Action::ToggleLatex
            | Action::TogglePace => Section::Panels,
            Action::Fork | Action::BrowseTraces | Action::Rescore => Section::Traces,
            Action::ConfidenceUp
            | Action::ConfidenceDown
            | Action::ParticleTempUp
            | Action::ParticleTempDown
            | Action::EssThresholdUp
            | Action::EssThresholdDown => Section::StrategyKnobs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_in_exactly_one_section() {
        for a in Action::ALL {
            let homes: Vec<Section> =
                Section::ALL.into_iter().filter(|s| s.actions().any(|b| b == a)).collect();
            assert_eq!(homes, vec![a.section()], "{a:?}");
        }
        let listed: usize = Section::ALL.into_iter().map(|s| s.actions().count()).sum();
        assert_eq!(listed, Action::ALL.len(), "the sections list every action once");
    }

    #[test]
    fn actions_are_listed_once_and_no_section_is_empty() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert!(!Action::ALL[..i].contains(a), "{a:?} twice in Action::ALL");
        }
        for s in Section::ALL {
            assert!(s.actions().next().is_some(), "{s:?} is empty");
            assert!(!s.title().is_empty());
        }
    }
}
