use super::*;

fn cond(key: &str, op: Op, value: &str) -> Expr {
    Expr::cond(key, op, value)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn not_is_logical_but_not_equals_needs_the_key() {
    let without_key = pairs(&[("Organism", "Homo sapiens")]);
    let not_eq = cond("Gene Symbol", Op::NotEquals, "");
    let not_empty = Expr::Not(Box::new(cond("Gene Symbol", Op::Equals, "")));
    assert_eq!(
        (not_eq.matches(None, &without_key), not_empty.matches(None, &without_key)),
        (false, true)
    );
}

#[test]
fn matching_ignores_case() {
    assert!(
        cond("gene symbol", Op::Equals, "ADE8").matches(None, &pairs(&[("Gene Symbol", "ade8")]))
    );
}

#[test]
fn key_case_is_ignored_beyond_ascii() {
    assert!(cond("MÉNIÈRE STAGE", Op::Equals, "I").matches(None, &pairs(&[("Ménière Stage", "i")])));
}

#[test]
fn design_example_plans_a_superset_and_filters_locally() {
    let e = Expr::All(vec![
        cond("Phenotype", Op::Contains, "chromosome"),
        Expr::Not(Box::new(cond("Gene Symbol", Op::Equals, ""))),
    ]);
    let plan = e.plan();
    assert!(!plan.exact);
    let engine = plan.engine.unwrap();
    assert_eq!((engine.and.len(), engine.or.len()), (1, 0));
    assert_eq!(engine.and[0].key.as_deref(), Some("Phenotype"));
}

#[test]
fn or_of_ands_distributes_exactly() {
    let (a, b, c) =
        (cond("A", Op::Equals, "1"), cond("B", Op::Equals, "2"), cond("C", Op::Equals, "3"));
    let plan = Expr::Any(vec![Expr::All(vec![a, b]), c]).plan();
    assert!(plan.exact);
    assert_eq!(plan.engine.unwrap().or.len(), 2);
}

#[test]
fn only_negations_cannot_run_on_the_engine() {
    let plan = Expr::Not(Box::new(cond("A", Op::Equals, "1"))).plan();
    assert_eq!(plan, Plan { engine: None, exact: false });
}

#[test]
fn values_with_surrounding_spaces_ask_the_engine_for_a_superset() {
    let plan = cond("Gene Symbol", Op::Equals, "krt19 ").plan();
    assert!(!plan.exact);
    let engine = plan.engine.unwrap();
    assert_eq!(engine.and.len(), 1);
    assert_eq!(
        (engine.and[0].op, engine.and[0].values.clone()),
        (Op::Contains, vec!["krt19".to_owned()])
    );
    // `in` keeps its clean values and adds a `contains` per spaced one, in one clause.
    let e = Expr::Cond(Condition {
        key: Some("Gene Symbol".into()),
        op: Op::In,
        values: vec!["ade8".into(), " ciz1".into()],
    });
    let engine = e.plan().engine.unwrap();
    assert_eq!(engine.or.len(), 1);
    assert_eq!(engine.or[0].len(), 2);
    // A negated operator or spaces only: nothing the engine can run.
    assert_eq!(cond("Gene Symbol", Op::NotEquals, "krt19 ").plan().engine, None);
    assert_eq!(cond("Gene Symbol", Op::Equals, "  ").plan().engine, None);
    // The local check is exact.
    assert!(cond("Gene Symbol", Op::Equals, "KRT19 ")
        .matches(None, &pairs(&[("gene symbol", "krt19 ")])));
    assert!(!cond("Gene Symbol", Op::Equals, "krt19 ")
        .matches(None, &pairs(&[("Gene Symbol", "krt19")])));
}

#[test]
fn names_are_filtered_locally() {
    let e = Expr::All(vec![cond("name", Op::Contains, "plate3"), cond("A", Op::Equals, "1")]);
    assert!(!e.plan().exact);
    assert!(e.matches(Some("plate3_8_010 [Well 1]"), &pairs(&[("a", "1")])));
}

#[test]
fn a_too_wide_disjunction_gives_the_engine_the_rest_of_the_conjunction() {
    // (a1 and … a9) or (b1 and … b9) is 9 × 9 clauses, over MAX_CLAUSES: that conjunct is
    // checked locally only.
    let wide = |k: &str| Expr::All((0..9).map(|i| cond(k, Op::Equals, &i.to_string())).collect());
    let e = Expr::All(vec![Expr::Any(vec![wide("A"), wide("B")]), cond("D", Op::Equals, "y")]);
    let plan = e.plan();
    assert!(!plan.exact);
    assert_eq!(
        plan.engine.unwrap().and,
        vec![Condition { key: Some("D".into()), op: Op::Equals, values: vec!["y".into()] }]
    );
}

#[test]
fn depth_and_conditions_count_every_level() {
    let e = Expr::Not(Box::new(Expr::All(vec![
        cond("A", Op::Equals, "1"),
        Expr::Any(vec![cond("B", Op::Equals, "2")]),
    ])));
    assert_eq!((e.depth(), e.conditions()), (3, 2));
    assert_eq!(
        (cond("A", Op::Equals, "1").depth(), cond("A", Op::Equals, "1").conditions()),
        (0, 1)
    );
}
