pub fn run(_: &std::path::Path, _: &std::path::Path, _: Option<&str>, _: Option<&std::path::Path>) -> Result<super::Exit, super::Failure> { Ok(super::Exit::Usage) }
