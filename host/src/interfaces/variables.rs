use super::fermyon::spin2_0_0::variables::{Error, Host};
use crate::state::State;

fn valid_name(name: &str) -> bool {
    crate::manifest::validate_variable_name(name).is_ok()
}

impl Host for State {
    async fn get(&mut self, name: String) -> Result<String, Error> {
        if !valid_name(&name) {
            return Err(Error::InvalidName(format!(
                "'{name}' is not a valid variable name (lowercase letters, digits, '_')"
            )));
        }
        self.component
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::Undefined(format!("no variable for \"{name}\"")))
    }
}
