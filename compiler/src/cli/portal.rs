pub fn run(_: &std::path::Path, _: &std::path::Path, _: Option<&str>, _: Option<&std::path::Path>) -> super::Exit { super::Exit::Usage }
