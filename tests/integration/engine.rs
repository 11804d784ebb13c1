//! The engine end to end: best-of-N over the local server with each verifier.

use std::sync::Arc;
use std::time::Duration;

use ttc::event::Event;
use ttc::model::ollama::OllamaClient;
use ttc::model::Generator;
use ttc::problem::Problem;
use ttc::run::{start, SolvePrompt};
use ttc::strategy::{Command, RunConfig, SelectionRule};
use ttc::tree::{NodeStatus, RunTree};
use ttc::verify::{
    Aggregation, ArithVerifier, JudgeMethod, JudgeTemplate, JudgeVerifier, NoVerifier, OracleVerifier,
    StepDetail, Verifier,
};

use super::ollama_server::{ServerConfig, TestServer};
use super::{fast_settings, server_and_client};

fn problem() -> Problem {
    Problem::inline("What is 12 + 30?", Some("42".into()))
}

fn config(n: usize) -> RunConfig {
    RunConfig { n, ..RunConfig::default() }
}

/// Run to the end; return every event and the folded tree.
async fn run_all(
    client: &OllamaClient,
    model: &str,
    cfg: RunConfig,
    verifier: Arc<dyn Verifier>,
    commands: Vec<Command>,
) -> (Vec<Event>, RunTree) {
    let gen: Arc<dyn Generator> = Arc::new(client.generator(model).await.unwrap());
    let mut h = start(problem(), cfg, gen, verifier, SolvePrompt::bundled());
    for c in commands {
        h.commands.send(c).unwrap();
    }
    let mut events = Vec::new();
    let mut tree = RunTree::new();
    let collect = async {
        while let Some(e) = h.events.recv().await {
            tree.apply(&e);
            events.push(e);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), collect).await.expect("the run ends");
    (events, tree)
}

#[tokio::test]
async fn best_of_n_with_arith_selects_the_right_answer() {
    let (server, client) = server_and_client().await;
    let (events, tree) = run_all(&client, "tiny-math", config(8), Arc::new(ArithVerifier), vec![]).await;

    assert!(matches!(events.first(), Some(Event::RunStarted(_))));
    assert!(matches!(events.last(), Some(Event::RunFinished { .. })));
    // One request per candidate, each with its own seed.
    let mut seeds: Vec<i64> =
        server.chat_requests().iter().map(|b| b["options"]["seed"].as_i64().unwrap()).collect();
    seeds.sort();
    assert_eq!(seeds, (0..8).collect::<Vec<_>>());

    assert_eq!(tree.nodes.len(), 8);
    for n in &tree.nodes {
        assert_eq!(n.status, NodeStatus::Done, "{n:?}");
        assert_eq!(n.steps.len(), 3);
        // Seeds 3 and 7 write a wrong claim; arith scores that step 0.
        let wrong = n.seed.unwrap() % 4 == 3;
        let claim = n.steps[1].verdict.as_ref().unwrap();
        assert_eq!(claim.score, Some(if wrong { 0.0 } else { 1.0 }), "{n:?}");
        assert_eq!(n.correct, Some(!wrong));
        assert_eq!(n.answer.as_deref(), Some(if wrong { "43" } else { "42" }));
        // The answer step makes no claim: unscored, with the reason.
        assert!(n.steps[2]
            .verdict
            .as_ref()
            .unwrap()
            .unscored
            .as_deref()
            .unwrap()
            .contains("no arithmetic claim"));
    }
    assert_eq!(tree.selected.as_deref(), Some("42"));
    assert_eq!(tree.correct, Some(true));
    assert_eq!(tree.error, None);
    let sel = tree.selection.as_ref().unwrap();
    assert_eq!(sel.answers[0].votes, 6);
    assert!((sel.answers[0].weight - 6.0).abs() < 1e-9);
    assert_eq!(sel.answers[1].votes, 2);
    assert_eq!(sel.answers[1].weight, 0.0);

    let b = &tree.budget;
    assert_eq!(b.policy_requests, 8);
    assert_eq!(b.finished, 8);
    assert!((b.generation_equivalents - 8.0).abs() < 1e-9);
    assert_eq!(b.verifier_calls, 24);
    assert_eq!(b.verifier_requests, 0, "arith needs no model");
    let streamed: u64 = tree.nodes.iter().map(|n| n.tokens).sum();
    assert_eq!(b.policy_generated_tokens, streamed);
    assert!(b.policy_prompt_tokens > 0);

    // Every delta event adds up to the node's text.
    let text0: String = events
        .iter()
        .filter_map(|e| match e {
            Event::TextDelta { node: 0, text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text0, tree.nodes[0].text);
}

#[tokio::test]
async fn reranking_needs_no_regeneration() {
    let (server, client) = server_and_client().await;
    let (_, tree) = run_all(&client, "tiny-math", config(8), Arc::new(ArithVerifier), vec![]).await;
    let before = server.chat_requests().len();
    for rule in SelectionRule::ALL {
        for agg in Aggregation::ALL {
            let s = tree.reselect(rule, agg);
            assert_eq!(s.selected.as_deref(), Some("42"), "{rule} {agg}");
        }
    }
    assert_eq!(server.chat_requests().len(), before);
}

#[tokio::test]
async fn a_failing_candidate_leaves_the_others_running() {
    let (_server, client) = server_and_client().await;
    let (events, tree) = run_all(&client, "flaky-math", config(4), Arc::new(ArithVerifier), vec![]).await;
    let failed: Vec<_> = events.iter().filter(|e| matches!(e, Event::NodeFailed { .. })).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(tree.nodes[1].status, NodeStatus::Failed);
    assert!(tree.nodes[1].error.as_deref().unwrap().contains("unexpected EOF"));
    for i in [0, 2, 3] {
        assert_eq!(tree.nodes[i].status, NodeStatus::Done);
    }
    assert_eq!(tree.selected.as_deref(), Some("42"));
    assert_eq!(tree.budget.failed, 1);
    assert_eq!(tree.budget.finished, 3);
    assert_eq!(tree.error, None);
}

#[tokio::test]
async fn all_candidates_failing_is_a_run_error() {
    let (_server, client) = server_and_client().await;
    let (_, tree) = run_all(&client, "drop-math", config(3), Arc::new(ArithVerifier), vec![]).await;
    assert!(tree.finished);
    assert_eq!(tree.selected, None);
    let err = tree.error.unwrap();
    assert!(err.contains("all 3 candidates failed"), "{err}");
}

#[tokio::test]
async fn judge_scores_from_logprobs() {
    let (_server, client) = server_and_client().await;
    let judge = Arc::new(JudgeVerifier::new(
        Arc::new(client.generator("judge").await.unwrap()),
        JudgeTemplate::bundled(),
    ));
    let (_, tree) = run_all(&client, "tiny-math", config(4), judge, vec![]).await;
    let good = &tree.nodes[0];
    let bad = &tree.nodes[3]; // seed 3 writes 12 + 30 = 43
    let v = good.steps[1].verdict.as_ref().unwrap();
    let StepDetail::Judge { method, prompt, p_yes, p_no, top_logprobs, .. } = &v.detail else { panic!() };
    assert_eq!(*method, JudgeMethod::Logprobs);
    assert!(prompt.contains("Step to check:\n12 + 30 = 42"), "{prompt}");
    // p(Yes) pools "Yes", "yes", " Yes", "YES" among the alternatives; likewise No.
    let (y, n) = (p_yes.unwrap(), p_no.unwrap());
    assert!(y > 0.90 && y < 0.92 && n > 0.06 && n < 0.07, "{y} {n}");
    assert!((v.score.unwrap() - y / (y + n)).abs() < 1e-12, "{v:?}");
    assert!(top_logprobs.len() >= 5);
    let w = bad.steps[1].verdict.as_ref().unwrap();
    assert!(w.score.unwrap() > 0.09 && w.score.unwrap() < 0.12, "{w:?}");
    assert!(good.score.unwrap() > 0.9 && bad.score.unwrap() > 0.9, "last step 'The answer is' passes");
    assert!(good.score_with(Aggregation::Min).unwrap() > bad.score_with(Aggregation::Min).unwrap());
    // Budget: one judge request per step, kept apart from the policy.
    let steps: u64 = tree.nodes.iter().map(|n| n.steps.len() as u64).sum();
    assert_eq!(tree.budget.verifier_calls, steps);
    assert_eq!(tree.budget.verifier_requests, steps);
    assert_eq!(tree.budget.verifier_generated_tokens, steps);
    assert!(tree.budget.verifier_prompt_tokens > 0);
    assert_eq!(tree.budget.policy_requests, 4);
}

#[tokio::test]
async fn a_conversational_prm_scores_each_step_as_its_own_turn() {
    let (server, client) = server_and_client().await;
    let text = std::fs::read_to_string("assets/verifiers/prm-chat.toml").unwrap();
    let template = JudgeTemplate::parse(&text, "prm-chat.toml").unwrap();
    let judge = Arc::new(JudgeVerifier::new(Arc::new(client.generator("prm-chat").await.unwrap()), template));
    let (_, tree) = run_all(&client, "tiny-math", config(4), judge, vec![]).await;
    let good = &tree.nodes[0];
    let bad = &tree.nodes[3]; // seed 3 writes 12 + 30 = 43
    let v = good.steps[1].verdict.as_ref().unwrap();
    let StepDetail::Judge { method, prompt, .. } = &v.detail else { panic!() };
    assert_eq!(*method, JudgeMethod::Logprobs);
    assert!(prompt.contains("[assistant] +"), "{prompt}");
    // p(+) / (p(+) + p(-)) from the reply's alternatives: 0.95/0.99 right, 0.15/0.95 wrong.
    assert!((v.score.unwrap() - 0.95 / 0.99).abs() < 1e-9, "{v:?}");
    let w = bad.steps[1].verdict.as_ref().unwrap();
    assert!((w.score.unwrap() - 0.15 / 0.95).abs() < 1e-9, "{w:?}");
    // The server saw alternating turns: step k's request has 2k - 1 messages.
    let chats = server.chat_requests();
    let judged: Vec<usize> = chats
        .iter()
        .filter(|c| c["model"].as_str().is_some_and(|m| m.starts_with("prm-chat")))
        .map(|c| c["messages"].as_array().unwrap().len())
        .collect();
    assert!(judged.contains(&1) && judged.contains(&3), "{judged:?}");
    assert!(judged.iter().all(|n| n % 2 == 1), "{judged:?}");
}

#[tokio::test]
async fn judge_without_logprobs_samples_verdicts_and_says_so() {
    let server =
        TestServer::start(ServerConfig { version: "0.12.3".into(), ..ServerConfig::default() }).await;
    let client = OllamaClient::new(&server.url, fast_settings()).unwrap();
    let judge = Arc::new(JudgeVerifier::new(
        Arc::new(client.generator("judge").await.unwrap()),
        JudgeTemplate::bundled(),
    ));
    assert!(judge.name().contains("sampled"));
    let (_, tree) = run_all(&client, "tiny-math", config(1), judge, vec![]).await;
    let v = tree.nodes[0].steps[1].verdict.as_ref().unwrap();
    let StepDetail::Judge { method, verdicts, .. } = &v.detail else { panic!() };
    assert_eq!(*method, JudgeMethod::Sampled);
    assert_eq!(verdicts.len(), 5);
    assert_eq!(v.usage.requests, 5);
    assert!(v.score.unwrap() > 0.5);
}

#[tokio::test]
async fn judge_marks_steps_unscored_when_neither_token_appears() {
    let (_server, client) = server_and_client().await;
    let judge = Arc::new(JudgeVerifier::new(
        Arc::new(client.generator("base-judge").await.unwrap()),
        JudgeTemplate::bundled(),
    ));
    let (_, tree) = run_all(&client, "tiny-math", config(2), judge, vec![]).await;
    for n in &tree.nodes {
        for s in &n.steps {
            let v = s.verdict.as_ref().unwrap();
            assert_eq!(v.score, None);
            let why = v.unscored.as_deref().unwrap();
            assert!(why.contains("neither \"Yes\" nor \"No\"") && why.contains("Step"), "{why}");
        }
        assert_eq!(n.score, None);
    }
    let sel = tree.selection.unwrap();
    assert!(sel.note.unwrap().contains("fell back to majority"));
    assert_eq!(sel.selected.as_deref(), Some("42"));
}

#[tokio::test]
async fn oracle_scores_the_final_answer() {
    let (_server, client) = server_and_client().await;
    let (_, tree) = run_all(&client, "tiny-math", config(4), Arc::new(OracleVerifier), vec![]).await;
    for n in &tree.nodes {
        let last = n.steps.last().unwrap().verdict.as_ref().unwrap();
        assert_eq!(last.score, Some(if n.seed == Some(3) { 0.0 } else { 1.0 }));
        assert!(n.steps[0].verdict.as_ref().unwrap().score.is_none());
    }
    assert_eq!(tree.selection.unwrap().rule, SelectionRule::Weighted);
    assert_eq!(tree.correct, Some(true));
}

#[tokio::test]
async fn no_verifier_falls_back_to_majority() {
    let (_server, client) = server_and_client().await;
    let (_, tree) = run_all(&client, "tiny-math", config(4), Arc::new(NoVerifier), vec![]).await;
    assert_eq!(tree.selected.as_deref(), Some("42"));
    assert!(tree.selection.unwrap().note.is_some());
}

#[tokio::test]
async fn raising_n_starts_new_candidates() {
    let server =
        TestServer::start(ServerConfig { token_delay: Duration::from_millis(10), ..ServerConfig::default() })
            .await;
    let client = OllamaClient::new(&server.url, fast_settings()).unwrap();
    let (_, tree) =
        run_all(&client, "tiny-math", config(2), Arc::new(ArithVerifier), vec![Command::SetN(5)]).await;
    assert_eq!(tree.nodes.len(), 5);
    assert!(tree.nodes.iter().all(|n| n.status == NodeStatus::Done));
    assert_eq!(tree.budget.policy_requests, 5);
}

#[tokio::test]
async fn lowering_n_cancels_the_newest_and_keeps_the_rest() {
    let server =
        TestServer::start(ServerConfig { token_delay: Duration::from_millis(20), ..ServerConfig::default() })
            .await;
    let client = OllamaClient::new(&server.url, fast_settings()).unwrap();
    let (_, tree) =
        run_all(&client, "tiny-math", config(4), Arc::new(ArithVerifier), vec![Command::SetN(2)]).await;
    let status: Vec<NodeStatus> = tree.nodes.iter().map(|n| n.status).collect();
    assert_eq!(
        status,
        vec![NodeStatus::Done, NodeStatus::Done, NodeStatus::Cancelled, NodeStatus::Cancelled]
    );
    assert_eq!(tree.budget.cancelled, 2);
    assert_eq!(tree.selected.as_deref(), Some("42"));
    assert!(server.wait_for_open_streams(0, Duration::from_secs(3)).await);
}

#[tokio::test]
async fn cancelling_a_run_ends_it_and_its_streams() {
    let (server, client) = server_and_client().await;
    let gen: Arc<dyn Generator> = Arc::new(client.generator("slow-math").await.unwrap());
    let mut h = start(problem(), config(3), gen, Arc::new(ArithVerifier), SolvePrompt::bundled());
    let mut tree = RunTree::new();
    let mut cancelled = false;
    let drive = async {
        while let Some(e) = h.events.recv().await {
            if !cancelled && tree.nodes.iter().filter(|n| !n.text.is_empty()).count() == 3 {
                h.cancel.cancel();
                cancelled = true;
            }
            tree.apply(&e);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), drive).await.expect("the run ends after cancel");
    assert!(tree.nodes.iter().all(|n| n.status == NodeStatus::Cancelled));
    assert_eq!(tree.error.as_deref(), Some("the run was cancelled"));
    assert!(server.wait_for_open_streams(0, Duration::from_secs(3)).await);
}

#[tokio::test]
async fn queued_and_running_requests_are_reported() {
    let server =
        TestServer::start(ServerConfig { token_delay: Duration::from_millis(2), ..ServerConfig::default() })
            .await;
    let mut settings = fast_settings();
    settings.concurrency = 2;
    let client = OllamaClient::new(&server.url, settings).unwrap();
    let (events, _) = run_all(&client, "tiny-math", config(6), Arc::new(ArithVerifier), vec![]).await;
    let loads: Vec<(usize, usize)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Load { running, queued, limit } => {
                assert_eq!(*limit, 2);
                Some((*running, *queued))
            }
            _ => None,
        })
        .collect();
    assert!(loads.iter().all(|&(r, _)| r <= 2), "{loads:?}");
    assert!(loads.iter().any(|&(_, q)| q >= 3), "{loads:?}");
}
