pub mod exec;
pub mod image;
pub mod inspect;
pub mod ps;
pub mod rm;
pub mod run;
